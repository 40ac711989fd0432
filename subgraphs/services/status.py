"""办件 statuses (services.md §2): the back-office status is stored, everything the citizen sees is
derived from it, so the two views can never disagree."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="办件状态: the back-office status (管理端 单据状态 and its sub-state).")
class ApplicationStatus(Enum):
    NEW = strawberry.enum_value("NEW", description="待提交/新增")
    DRAFT = strawberry.enum_value("DRAFT", description="待提交/暂存（草稿）")
    WITHDRAWN = strawberry.enum_value("WITHDRAWN", description="待提交/撤回（已提交未受理）")
    CORRECTION_REQUIRED = strawberry.enum_value("CORRECTION_REQUIRED", description="待提交/补正 (licensing)")
    RETURNED = strawberry.enum_value("RETURNED", description="待提交/退回 (filing)")
    SUPPLEMENT_REQUIRED = strawberry.enum_value("SUPPLEMENT_REQUIRED", description="待提交/补充")
    PRE_REVIEW = strawberry.enum_value("PRE_REVIEW", description="待受理/预审")
    HANDOVER = strawberry.enum_value("HANDOVER", description="待受理/交接")
    RECEIVED = strawberry.enum_value("RECEIVED", description="待受理/接收")
    MATERIALS_COMPLETED = strawberry.enum_value("MATERIALS_COMPLETED", description="待受理/补全")
    UNDER_ACCEPTANCE = strawberry.enum_value("UNDER_ACCEPTANCE", description="待受理/受理")
    ACCEPTED = strawberry.enum_value("ACCEPTED", description="办件中/审批流程: 已受理")
    SITE_INSPECTION = strawberry.enum_value("SITE_INSPECTION", description="办件中/审批流程: 现场勘验")
    EXPERT_REVIEW = strawberry.enum_value("EXPERT_REVIEW", description="办件中/审批流程: 专家评审")
    SECTION_REVIEW = strawberry.enum_value("SECTION_REVIEW", description="办件中/审批流程: 承办科室审核")
    LEADER_APPROVAL = strawberry.enum_value("LEADER_APPROVAL", description="办件中/审批流程: 领导审批")
    SUSPENDED = strawberry.enum_value("SUSPENDED", description="办件中/中止")
    NOT_ACCEPTED = strawberry.enum_value("NOT_ACCEPTED", description="已办结/不受理")
    APPROVED = strawberry.enum_value("APPROVED", description="已办结/准予")
    REJECTED = strawberry.enum_value("REJECTED", description="已办结/不准予")
    TERMINATED = strawberry.enum_value("TERMINATED", description="已办结/终止")
    REVOKED = strawberry.enum_value("REVOKED", description="已办结/撤销")
    VOIDED = strawberry.enum_value("VOIDED", description="已办结/作废")


@strawberry.enum(description="单据状态: the back-office stage a status belongs to.")
class ApplicationStage(Enum):
    PENDING_SUBMISSION = strawberry.enum_value("PENDING_SUBMISSION", description="待提交")
    AWAITING_ACCEPTANCE = strawberry.enum_value("AWAITING_ACCEPTANCE", description="待受理")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="办件中")
    COMPLETED = strawberry.enum_value("COMPLETED", description="已办结")


@strawberry.enum(description="我的办件: the status bucket the citizen sees (tender L1295).")
class CitizenStatus(Enum):
    PENDING_SUBMISSION = strawberry.enum_value("PENDING_SUBMISSION", description="待提交")
    SUBMITTED = strawberry.enum_value("SUBMITTED", description="已提交")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="办理中")
    COMPLETED = strawberry.enum_value("COMPLETED", description="已办结")
    AWAITING_EVALUATION = strawberry.enum_value("AWAITING_EVALUATION", description="待评价")


_S = ApplicationStatus
STAGE_OF: dict[ApplicationStatus, ApplicationStage] = {
    **dict.fromkeys(
        (_S.NEW, _S.DRAFT, _S.WITHDRAWN, _S.CORRECTION_REQUIRED, _S.RETURNED, _S.SUPPLEMENT_REQUIRED),
        ApplicationStage.PENDING_SUBMISSION,
    ),
    **dict.fromkeys(
        (_S.PRE_REVIEW, _S.HANDOVER, _S.RECEIVED, _S.MATERIALS_COMPLETED, _S.UNDER_ACCEPTANCE),
        ApplicationStage.AWAITING_ACCEPTANCE,
    ),
    **dict.fromkeys(
        (_S.ACCEPTED, _S.SITE_INSPECTION, _S.EXPERT_REVIEW, _S.SECTION_REVIEW, _S.LEADER_APPROVAL,
         _S.SUSPENDED),
        ApplicationStage.IN_PROGRESS,
    ),
    **dict.fromkeys(
        (_S.NOT_ACCEPTED, _S.APPROVED, _S.REJECTED, _S.TERMINATED, _S.REVOKED, _S.VOIDED),
        ApplicationStage.COMPLETED,
    ),
}
assert set(STAGE_OF) == set(ApplicationStatus)

_CITIZEN_OF_STAGE = {
    ApplicationStage.PENDING_SUBMISSION: CitizenStatus.PENDING_SUBMISSION,
    ApplicationStage.AWAITING_ACCEPTANCE: CitizenStatus.SUBMITTED,
    ApplicationStage.IN_PROGRESS: CitizenStatus.IN_PROGRESS,
    ApplicationStage.COMPLETED: CitizenStatus.COMPLETED,
}

CITIZEN_LABELS: dict[CitizenStatus, str] = {
    CitizenStatus.PENDING_SUBMISSION: "待提交",
    CitizenStatus.SUBMITTED: "已提交",
    CitizenStatus.IN_PROGRESS: "办理中",
    CitizenStatus.COMPLETED: "已办结",
    CitizenStatus.AWAITING_EVALUATION: "待评价",
}


def citizen_status(status: ApplicationStatus, evaluated: bool) -> CitizenStatus:
    """The 我的办件 bucket. Only a granted case (准予) waits for an evaluation: the back office tracks
    评价状态 for 准予 alone, and the tender does not say whether refused cases can be rated."""
    if status is ApplicationStatus.APPROVED and not evaluated:
        return CitizenStatus.AWAITING_EVALUATION
    return _CITIZEN_OF_STAGE[STAGE_OF[status]]
