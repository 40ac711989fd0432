"""The foundation's vertical slice, shared by the embedded and the stack end-to-end tests."""

from __future__ import annotations

from typing import Any

from db.seed.world import applicants, licence_holders, organizations, person, users
from subgraphs.common.masking import mask_name

SLICE_QUERY = """
query Slice($uid: ID!) {
  person(uid: $uid) {
    name birthDate
    managementRegion { name parent { name } }
    account { username organization { name assets { host } } }
    licences { number type issuedAt }
    applications(first: 5) { edges { node { status item { name } } } }
  }
}
"""

LIST_QUERY = """
query List($region: ID! = "320505", $first: Int! = 20) {
  persons(regionCode: $region, first: $first) {
    edges { node {
      uid name
      managementRegion { code name }
      account { username organization { name assets { host } } }
      licences { number }
      applications(first: 5) { edges { node { status item { name } } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def slice_people(seed: int, persons: int) -> dict[str, str]:
    """uids of seeded persons that exercise each cross-subgraph field of the slice."""
    linked = {
        u.person_index for u in users(seed, max(persons, 3 * len(organizations(seed))))
        if u.person_index is not None and u.person_index < persons
    }
    holders = set(licence_holders(seed, persons))
    applying = set(applicants(seed, persons))
    chosen = {
        "account_and_licence": min(linked & holders),
        "account_and_applications": min(linked & applying),
        "licence_and_applications": min(holders & applying) if holders & applying else min(holders),
    }
    return {name: person(seed, index).uid for name, index in chosen.items()}


def check_slice(seed: int, uid: str, answer: dict[str, Any]) -> None:
    """The answer holds what the synthetic world says about this person, from every subgraph."""
    assert "errors" not in answer, answer.get("errors")
    found = answer["data"]["person"]
    index = next(i for i in range(100_000) if person(seed, i).uid == uid)
    expected = person(seed, index)
    assert found["name"] == mask_name(expected.name)  # population masks names (Person.unmasked gives them)
    assert found["birthDate"] == expected.birth_date.isoformat()
    region = found["managementRegion"]
    # Cases are managed by a (synthetic, 测试-marked) village or community under a synthetic township.
    assert "测试" in region["name"] and "测试" in region["parent"]["name"]
    for licence in found["licences"]:
        assert licence["type"] == "NURSE_PRACTICE" and licence["number"] and licence["issuedAt"]
    for edge in found["applications"]["edges"]:
        assert edge["node"]["status"] and edge["node"]["item"]["name"]
    if found["account"] is not None:
        assert found["account"]["username"]
        assert found["account"]["organization"]["name"]
        assert all(asset["host"] for asset in found["account"]["organization"]["assets"])
