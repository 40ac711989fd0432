"""Service guides (办事指南) and their materials, fees, time limits, steps, halls and 情形引导."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.licences.codes import LicenceTypeCode
from subgraphs.services import models
from subgraphs.services.catalogue import ApplicationKind
from subgraphs.services.domain import guides
from subgraphs.services.types import BusinessItem, Info


@strawberry.enum(description="来源渠道 of a material.")
class MaterialSource(Enum):
    APPLICANT = "APPLICANT"  # 申请人自备
    GOVERNMENT = "GOVERNMENT"  # 政府部门核发
    OTHER = "OTHER"  # 其他 (an employer's or a third party's certificate)


@strawberry.type(description="申请材料: one material a guide asks for.")
class MaterialRequirement:
    code: str = strawberry.field(description="材料编号, unique within the guide.")
    name: str = strawberry.field(description="材料名称.")
    template_url: str | None = strawberry.field(description="空白表格/示例样表 to download (/templates/<code>.docx).")
    source: MaterialSource = strawberry.field(description="来源渠道: APPLICANT 申请人自备, GOVERNMENT 政府部门核发, "
                                                          "OTHER 其他.")
    mandatory: bool = strawberry.field(description="材料必要性: required (true) or as the case needs (false).")
    licence_type: LicenceTypeCode | None = strawberry.field(
        description="免提交: an electronic licence of this type may replace the upload.")
    kinds: list[ApplicationKind] = strawberry.field(description="The 情形 that need it; empty: all.")

    @classmethod
    def from_row(cls, row: models.MaterialRequirement) -> Self:
        return cls(code=row.code, name=row.name, template_url=row.template_url, source=MaterialSource(row.source),
                   mandatory=row.mandatory,
                   licence_type=LicenceTypeCode(row.licence_type) if row.licence_type else None,
                   kinds=[ApplicationKind(k) for k in row.kinds or []])


@strawberry.type(description="收费信息: one fee (an empty list of fees means 不收费).")
class Fee:
    name: str
    amount: str = strawberry.field(description="收费标准.")
    basis: str = strawberry.field(description="收费依据.")


@strawberry.type(description="办理环节: one step of the process.")
class Step:
    name: str = strawberry.field(description="申请, 受理, 现场核查, 审查, 决定 (备案), 制证.")
    actor: str = strawberry.field(description="Who acts: 申请人, 窗口, 承办处室, 分管领导.")
    days: int = strawberry.field(description="Working days the step is given.")


@strawberry.type(description="办理地点: a service hall (办事大厅) window.")
class Hall:
    code: str = strawberry.field(description="The hall's code (what an appointment names).")
    name: str
    region_code: str
    address: str
    hours: str = strawberry.field(description="办理时间.")
    phone: str = strawberry.field(description="咨询电话.")

    @classmethod
    def from_json(cls, hall: dict[str, Any]) -> Self:
        return cls(code=hall["code"], name=hall["name"], region_code=hall["regionCode"], address=hall["address"],
                   hours=hall["hours"], phone=hall["phone"])


@strawberry.type(description="One answer of a 情形引导 question.")
class ScenarioOption:
    code: str = strawberry.field(description="What to send back as the answer.")
    answer: str = strawberry.field(description="The answer as shown, e.g. 延续 or 遗失.")
    kind: ApplicationKind | None = strawberry.field(description="The 情形 the answer chooses, if it chooses one.")
    business_item_id: strawberry.ID | None = strawberry.field(
        description="The business item that handles that 情形, when it is another one of the same item.")
    material_codes: list[str] = strawberry.field(description="Materials the answer adds.")


@strawberry.type(description="情形引导: a question whose answers choose the 情形 and the materials.")
class ScenarioQuestion:
    code: str
    question: str
    options: list[ScenarioOption]

    @classmethod
    def from_json(cls, q: dict[str, Any]) -> Self:
        return cls(code=q["code"], question=q["question"], options=[
            ScenarioOption(code=o["code"], answer=o["answer"],
                           kind=ApplicationKind(o["kind"]) if o.get("kind") else None,
                           business_item_id=strawberry.ID(o["businessItemId"]) if o.get("businessItemId") else None,
                           material_codes=list(o.get("materials", [])))
            for o in q["options"]])


@strawberry.type(description="办事指南: how to apply for a business item in a region.")
class ServiceGuide:
    id: strawberry.ID
    region_code: str = strawberry.field(description="The region the guide is written for (320000: the province's).")
    conditions: list[str] = strawberry.field(description="受理条件.")
    legal_basis: list[str] = strawberry.field(description="设定依据: the laws and regulations.")
    fees: list[Fee] = strawberry.field(description="收费: empty when the service is free (不收费).")
    statutory_days: int = strawberry.field(description="法定办结时限 (working days).")
    promised_days: int = strawberry.field(description="承诺办结时限 (working days, less than the statutory limit).")
    steps: list[Step] = strawberry.field(description="办理流程, in order.")
    halls: list[Hall] = strawberry.field(description="办理地点.")
    scenarios: list[ScenarioQuestion] = strawberry.field(description="情形引导 questions.")
    updated_at: datetime
    row: strawberry.Private[models.ServiceGuide]

    @classmethod
    def from_row(cls, row: models.ServiceGuide) -> Self:
        return cls(
            id=strawberry.ID(row.id), region_code=row.region_code, conditions=list(row.conditions),
            legal_basis=list(row.legal_basis), fees=[Fee(name=f["name"], amount=f["amount"], basis=f["basis"])
                                                     for f in row.fees],
            statutory_days=row.statutory_days, promised_days=row.promised_days,
            steps=[Step(name=s["name"], actor=s["actor"], days=s["days"]) for s in row.steps],
            halls=[Hall.from_json(h) for h in row.halls],
            scenarios=[ScenarioQuestion.from_json(q) for q in row.scenarios], updated_at=row.updated_at, row=row)

    @strawberry.field(description="不收费: true when the guide lists no fee.")
    def free(self) -> bool:
        return not self.fees

    @strawberry.field(description="申请材料, in order (all of them; guideScenario narrows them to a case).")
    async def materials(self, info: Info) -> list[MaterialRequirement]:
        rows = await info.context.loaders.materials_of_guide.load(self.row.id)
        return [MaterialRequirement.from_row(m) for m in rows]

    @strawberry.field(description="The business item the guide is for.")
    async def business_item(self, info: Info) -> BusinessItem:
        row = await info.context.loaders.business_item.load(self.row.business_item_id)
        assert row is not None, "the foreign key keeps every guide's business item"
        return BusinessItem.from_row(row)


@strawberry.input(description="One 情形引导 answer: the question's code and the chosen option's code.")
class ScenarioAnswerInput:
    question: str
    option: str


@strawberry.type(description="What the 情形引导 answers lead to.")
class ScenarioOutcome:
    kind: ApplicationKind | None = strawberry.field(description="The 情形 of the case.")
    business_item: BusinessItem = strawberry.field(
        description="The business item to apply for (a sibling when the answers chose another 情形).")
    guide: ServiceGuide
    materials: list[MaterialRequirement] = strawberry.field(description="The materials this case needs.")
    unanswered: list[ScenarioQuestion] = strawberry.field(description="Questions not answered yet.")


async def _business_item(info: Info, business_item_id: strawberry.ID) -> models.BusinessItem:
    row = await info.context.loaders.business_item.load(str(business_item_id))
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No business item {business_item_id}.", id=str(business_item_id))
    return row


@strawberry.type
class GuideQueries:
    @strawberry.field(description="办事指南 of a business item for a region: the region's own, else its county's "
                                  "or city's, else the province's (regionCode omitted: the province's).")
    async def service_guide(self, info: Info, business_item_id: strawberry.ID,
                            region_code: str | None = None) -> ServiceGuide | None:
        await _business_item(info, business_item_id)
        async with info.context.session() as session:
            row = await guides.guide_for(session, str(business_item_id), region_code)
        return ServiceGuide.from_row(row) if row else None

    @strawberry.field(description="情形引导: the 情形 and materials that the answers lead to, and what is still "
                                  "to answer.")
    async def guide_scenario(self, info: Info, business_item_id: strawberry.ID, region_code: str | None = None,
                             answers: list[ScenarioAnswerInput] | None = None) -> ScenarioOutcome:
        business_item = await _business_item(info, business_item_id)
        chosen: dict[str, str] = {}
        for answer in answers or []:
            if answer.question in chosen:
                raise bad_input(f"Question {answer.question!r} is answered twice.", argument="answers")
            chosen[answer.question] = answer.option
        async with info.context.session() as session:
            outcome = await guides.scenario(session, business_item, region_code, chosen)
        if outcome is None:
            raise domain_error(ErrorCode.NOT_FOUND, f"Business item {business_item_id} has no guide.",
                               id=str(business_item_id))
        target = await _business_item(info, strawberry.ID(outcome.business_item_id))
        return ScenarioOutcome(kind=outcome.kind, business_item=BusinessItem.from_row(target),
                               guide=ServiceGuide.from_row(outcome.guide),
                               materials=[MaterialRequirement.from_row(m) for m in outcome.materials],
                               unanswered=[ScenarioQuestion.from_json(q) for q in outcome.unanswered])


queries: list[type] = [GuideQueries]
mutations: list[type] = []
