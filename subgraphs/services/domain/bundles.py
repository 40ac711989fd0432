"""Bundle definitions (一件事管理, L5792-L5798): a bundle, its member steps (单事项: name, 事项代码, the department
that handles it) and the order in which the 分发系统 may push them (前后置关系, L5766).

The newborn-birth bundle BIRTH is the one the tender specifies end to end; its definition is a constant here so
that the seed and the tests build the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.services import models
from subgraphs.services.domain import birth_form as bf

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
BIRTH = "BIRTH"


@dataclass(frozen=True)
class StepSpec:
    """One member step as a manager defines it."""

    code: str
    name: str
    department: str
    item_code: str | None = None
    depends_on: tuple[str, ...] = ()
    editable_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    description: str = ""
    enabled: bool = True
    steps: tuple[StepSpec, ...] = field(default_factory=tuple)


# The tender names the four departments but not their order. The chain follows the documents each step needs:
# 落户 needs the 出生医学证明, 参保 needs the 户籍 (the 医保 correction locks 户籍 and 社保 data, L5366) and the
# social-security card is issued to an insured person (the 社保 correction locks 参保 data, L5368).
BIRTH_BUNDLE = BundleSpec(
    code=BIRTH, name="新生儿出生一件事",
    description="出生医学证明、落户、参保、社保卡一次申报，分发系统按前后置关系推送各部门 (5.1.4.1).",
    steps=(
        StepSpec("BIRTH_CERTIFICATE", "出生医学证明", "妇幼（卫健）", "320000-WJ-BIRTH-CERT", (),
                 bf.EDITABLE["BIRTH_CERTIFICATE"]),
        StepSpec("HUKOU", "新生儿落户", "公安", "320000-GA-BIRTH-HUKOU", ("BIRTH_CERTIFICATE",),
                 bf.EDITABLE["HUKOU"]),
        StepSpec("MEDICAL_INSURANCE", "城乡居民医保参保登记", "医保", "320000-YB-BIRTH-INSURE", ("HUKOU",),
                 bf.EDITABLE["MEDICAL_INSURANCE"]),
        StepSpec("SOCIAL_SECURITY_CARD", "社会保障卡申领", "人社", "320000-RS-BIRTH-CARD", ("MEDICAL_INSURANCE",),
                 bf.EDITABLE["SOCIAL_SECURITY_CARD"]),
    ),
)

# Other bundles of Appendix B, as definitions only: their cases are filed in the leading department's system.
# Only the health commission's step is named by the tender; the other departments' steps are illustrative.
OTHER_BUNDLES = (
    BundleSpec(
        code="BIRTH_CERT_ONLINE", name="出生医学证明线上申领",
        description="可单独办理的出生医学证明申领 (苏服办/支付宝/微信, 5.1.4.1.8-10).",
        steps=(StepSpec("BIRTH_CERTIFICATE", "出生医学证明", "妇幼（卫健）", "320000-WJ-BIRTH-CERT", (),
                        bf.EDITABLE["BIRTH_CERTIFICATE"]),),
    ),
    BundleSpec(
        code="AFTER_DEATH", name="公民身后一件事", enabled=False,
        description="民政牵头；卫健提供死亡医学证明（死因登记管理子系统） (5.1.4.2 (3)).",
        steps=(
            StepSpec("DEATH_CERTIFICATE", "死亡医学证明", "卫健", None),
            StepSpec("HUKOU_CANCEL", "户口注销", "公安", None, ("DEATH_CERTIFICATE",)),
            StepSpec("FUNERAL", "殡葬服务", "民政", None, ("DEATH_CERTIFICATE",)),
        ),
    ),
    BundleSpec(
        code="RETIREMENT", name="退休一件事", enabled=False,
        description="人社牵头；卫健办理企业退休职工独生子女父母一次性奖励金 (5.1.4.2 (4)).",
        steps=(
            StepSpec("RETIREMENT_APPROVAL", "退休审批", "人社", None),
            StepSpec("ONE_CHILD_REWARD", "企业退休职工独生子女父母一次性奖励金", "卫健", None,
                     ("RETIREMENT_APPROVAL",)),
        ),
    ),
)


def check_spec(spec: BundleSpec) -> None:
    """Codes well formed and unique, dependencies inside the bundle and without a cycle."""
    if not CODE_PATTERN.match(spec.code):
        raise bad_input(f"Bundle code {spec.code!r} must be 2-32 upper-case letters, digits or _.", argument="code")
    if not spec.name.strip():
        raise bad_input("A bundle needs a name.", argument="name")
    if not spec.steps:
        raise bad_input("A bundle needs at least one member step.", argument="steps")
    codes = [s.code for s in spec.steps]
    if len(set(codes)) != len(codes):
        raise bad_input("Step codes repeat within the bundle.", argument="steps")
    for step in spec.steps:
        if not CODE_PATTERN.match(step.code):
            raise bad_input(f"Step code {step.code!r} must be 2-32 upper-case letters, digits or _.",
                            argument="steps")
        if not step.name.strip() or not step.department.strip():
            raise bad_input(f"Step {step.code} needs a name and a department.", argument="steps")
        unknown = [d for d in step.depends_on if d not in codes or d == step.code]
        if unknown:
            raise bad_input(f"Step {step.code} depends on {', '.join(unknown)}, which is not another step of the "
                            "bundle.", argument="steps")
    order(spec.steps)


def order(steps: Sequence[StepSpec]) -> list[StepSpec]:
    """The steps in an order that respects their dependencies (refuses a cycle)."""
    done: list[StepSpec] = []
    placed: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if set(s.depends_on) <= placed]
        if not ready:
            raise bad_input("The steps' dependencies form a cycle: "
                            f"{', '.join(s.code for s in pending)}.", argument="steps")
        for step in ready:
            done.append(step)
            placed.add(step.code)
            pending.remove(step)
    return done


def step_rows(spec: BundleSpec) -> list[models.BundleStep]:
    return [
        models.BundleStep(bundle_code=spec.code, code=s.code, ordinal=i, name=s.name, department=s.department,
                          item_code=s.item_code, depends_on=list(s.depends_on), editable_fields=list(s.editable_fields))
        for i, s in enumerate(order(spec.steps), start=1)
    ]


async def steps_of(session: AsyncSession, bundle_code: str) -> list[models.BundleStep]:
    S = models.BundleStep
    return list((await session.scalars(select(S).where(S.bundle_code == bundle_code).order_by(S.ordinal))).all())


async def get_bundle(session: AsyncSession, code: str) -> models.Bundle:
    row = await session.get(models.Bundle, code)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No bundle {code}.", argument="code")
    return row


async def create(session: AsyncSession, spec: BundleSpec) -> models.Bundle:
    check_spec(spec)
    if await session.get(models.Bundle, spec.code) is not None:
        raise domain_error(ErrorCode.CONFLICT, f"Bundle {spec.code} already exists.", argument="code")
    row = models.Bundle(code=spec.code, name=spec.name.strip(), enabled=spec.enabled, description=spec.description)
    session.add(row)
    await session.flush()
    session.add_all(step_rows(spec))
    await session.flush()
    return row


async def update(session: AsyncSession, code: str, *, name: str | None = None, description: str | None = None,
                 steps: tuple[StepSpec, ...] | None = None) -> models.Bundle:
    """Rename, describe or replace the member steps; steps are fixed once the bundle has cases, because each
    case's sub-cases were made from them."""
    row = await get_bundle(session, code)
    if name is not None:
        if not name.strip():
            raise bad_input("A bundle needs a name.", argument="name")
        row.name = name.strip()
    if description is not None:
        row.description = description
    if steps is not None:
        check_spec(BundleSpec(code=code, name=row.name, steps=steps))
        has_cases = await session.scalar(select(exists().where(models.BundleCase.bundle_code == code)))
        if has_cases:
            raise domain_error(ErrorCode.CONFLICT, f"Bundle {code} already has cases; its steps can no longer change.",
                               argument="steps")
        await session.execute(delete(models.BundleStep).where(models.BundleStep.bundle_code == code))
        session.add_all(step_rows(BundleSpec(code=code, name=row.name, steps=steps)))
    await session.flush()
    return row


async def set_enabled(session: AsyncSession, code: str, enabled: bool) -> models.Bundle:
    row = await get_bundle(session, code)
    row.enabled = enabled
    await session.flush()
    return row
