"""Seed data of the mapping part: ten of the tender's 64 connected systems (Appendix A, l.10339–10435) and the
accounts each reports, derived from the synthetic world's staff so that automatic matching has every outcome
to show.

    await seed_mapping_data(session, options)      # from identity's seed, after organisations and users

Per system, a sample of portal users gets an account: most under the same username with the person's mobile
and the organisation's credit code (exact matches), some under a variant of it (upper case, - for _) with a
+86 mobile (fuzzy matches only), some under another username (matchable by mobile), a few pairs share one
mobile (several candidates: FAILED); and some accounts belong to nobody on the portal. Nothing is linked: the
mappings come from manual links, imports and runs.
"""

from __future__ import annotations

import random

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import organizations, person, users
from subgraphs.common.app import SeedOptions
from subgraphs.identity.models import ConnectedSystem, ExternalUser

# (code, name from the tender, protocol); the codes are ours, the tender gives names only.
SYSTEMS: tuple[tuple[str, str, str], ...] = (
    ("JSHC-PACS", "江苏省卫生健康云影像平台", "OAUTH2"),
    ("JSHC-LIS", "江苏省卫生健康云影像平台-检验平台", "OAUTH2"),
    ("JSHIP", "江苏省全民健康信息平台", "CAS"),
    ("JSHIP-MCH", "江苏省全民健康信息平台-妇幼健康信息子系统", "CAS"),
    ("JSHIP-PHC", "江苏省全民健康信息平台-基层卫生健康管理信息子系统", "CAS"),
    ("JSTCM", "江苏省中医药服务智慧管理系统", "OAUTH2"),
    ("JSHC-OA", "江苏省卫生健康委办公自动化系统", "NON_SSO"),
    ("JS-VACCINE", "江苏省预防接种综合服务管理信息系统", "OAUTH2"),
    ("JS-OCCDISEASE", "江苏省职业病信息管理平台", "NON_SSO"),
    ("JS-SUPERVISION", "江苏省卫生健康监督综合管理系统", "CAS"),
)
ACCOUNTS_PER_SYSTEM = 150
CHUNK = 5000


async def seed_mapping_data(session: AsyncSession, options: SeedOptions) -> None:
    """Insert the systems and their accounts (once: a database that has the first of them is left alone)."""
    if await session.get(ConnectedSystem, SYSTEMS[0][0]) is not None:
        return
    await session.execute(insert(ConnectedSystem), [
        {"code": code, "name": name, "protocol": protocol, "status": "ENABLED"} for code, name, protocol in SYSTEMS
    ])
    orgs = organizations(options.seed)
    credit = {o.id: o.credit_code for o in orgs}
    # The same account count as identity's seed (up to 3 per organisation), so the users exist.
    staff = users(options.seed, max(options.persons, 3 * len(orgs)))
    rng = random.Random(f"{options.seed}:account-mapping")
    rows: list[dict[str, object]] = []
    for code, _, _ in SYSTEMS:
        sample = rng.sample(staff, min(ACCOUNTS_PER_SYSTEM, len(staff)))
        taken: set[str] = set()
        for i, user in enumerate(sample):
            phone = person(options.seed, user.person_index).phone if user.person_index is not None else None
            roll = rng.random()
            if roll < 0.55:
                username, mobile = user.username, phone
            elif roll < 0.70:
                username, mobile = user.username.upper().replace("_", "-"), f"+86 {phone}" if phone else None
            elif roll < 0.85:
                username, mobile = f"{code.lower()}{i:05d}", phone
            else:
                # Two accounts with this person's mobile: matching by mobile finds several candidates.
                username, mobile = f"{user.username}.a", phone
                rows.append({"system_code": code, "username": f"{user.username}.b", "name": user.display_name,
                             "mobile": phone, "credit_code": credit.get(user.organization_id)})
                taken.add(f"{user.username}.b")
            if username in taken:
                continue
            taken.add(username)
            rows.append({"system_code": code, "username": username, "name": user.display_name, "mobile": mobile,
                         "credit_code": credit.get(user.organization_id)})
        for j in range(ACCOUNTS_PER_SYSTEM // 10):  # accounts nobody on the portal has
            rows.append({"system_code": code, "username": f"{code.lower()}-ext{j:03d}", "name": None,
                         "mobile": f"199{rng.randrange(10**8):08d}", "credit_code": None})
    for chunk in chunked(rows, CHUNK):
        await session.execute(insert(ExternalUser), chunk)
