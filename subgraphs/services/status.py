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


# --- the state machine (services.md §2.4) ---------------------------------------------------------------


@strawberry.enum(description="办件操作: what can be done to an application; each is one transition.")
class Action(Enum):
    SAVE = strawberry.enum_value("SAVE", description="暂存 (applicant)")
    SUBMIT = strawberry.enum_value("SUBMIT", description="提交申报 (applicant, online)")
    WITHDRAW = strawberry.enum_value("WITHDRAW", description="撤回: only before acceptance (applicant)")
    RESUBMIT = strawberry.enum_value("RESUBMIT", description="补正/退回后重新提交 (applicant)")
    RECEIVE_WALK_IN = strawberry.enum_value("RECEIVE_WALK_IN", description="窗口收件: 核验身份、材料初审、收件凭证")
    HANDOVER = strawberry.enum_value("HANDOVER", description="交接: on the day's handover slip to the division")
    COMPLETE_MATERIALS = strawberry.enum_value("COMPLETE_MATERIALS", description="补全: paper materials uploaded")
    START_ACCEPTANCE = strawberry.enum_value("START_ACCEPTANCE", description="受理审查 begins")
    ACCEPT = strawberry.enum_value("ACCEPT", description="受理: issues the 受理通知书")
    REFUSE = strawberry.enum_value("REFUSE", description="不予受理: issues the 不予受理决定书")
    REQUEST_CORRECTION = strawberry.enum_value("REQUEST_CORRECTION", description="补正 (licensing items)")
    RETURN = strawberry.enum_value("RETURN", description="退回 (filing items)")
    SEND_TO_INSPECTION = strawberry.enum_value("SEND_TO_INSPECTION", description="现场勘验")
    INSPECTION_FAILED = strawberry.enum_value(
        "INSPECTION_FAILED", description="勘察不通过: 限期整改 with a deadline, then a second inspection")
    SEND_TO_EXPERTS = strawberry.enum_value("SEND_TO_EXPERTS", description="专家评审 (after a passed inspection)")
    SEND_TO_SECTION_REVIEW = strawberry.enum_value(
        "SEND_TO_SECTION_REVIEW", description="承办科室审核 (after a passed inspection or the experts' review)")
    SECTION_AGREE = strawberry.enum_value("SECTION_AGREE", description="科室审核 同意: to the leader")
    SECTION_DISAGREE = strawberry.enum_value("SECTION_DISAGREE", description="科室审核 不同意: to the leader")
    APPROVE = strawberry.enum_value("APPROVE", description="准予 (leader): the 准予决定书")
    DENY = strawberry.enum_value("DENY", description="不准予 (leader): the 不准予决定书")
    REQUEST_SUPPLEMENT = strawberry.enum_value("REQUEST_SUPPLEMENT", description="补充材料 during approval")
    SUPPLY = strawberry.enum_value("SUPPLY", description="补充材料已提交: back to the step that asked")
    SUSPEND = strawberry.enum_value("SUSPEND", description="中止")
    RESUME = strawberry.enum_value("RESUME", description="恢复办理: back to the step it was suspended at")
    TERMINATE = strawberry.enum_value("TERMINATE", description="终止")
    REVOKE = strawberry.enum_value("REVOKE", description="撤销: the applicant's application withdrawn after acceptance")
    VOID = strawberry.enum_value("VOID", description="作废: an application that should not exist (e.g. a duplicate)")
    ISSUE_CERTIFICATE = strawberry.enum_value("ISSUE_CERTIFICATE", description="制证 (准予 only): 待制证 → 已制证")
    MAIL = strawberry.enum_value("MAIL", description="邮寄 with the carrier's waybill number (已邮寄)")
    CONFIRM_RECEIPT = strawberry.enum_value("CONFIRM_RECEIPT", description="已收件")
    EVALUATE = strawberry.enum_value("EVALUATE", description="评价 (好差评)")


A = Action
_EDITABLE = frozenset({_S.NEW, _S.DRAFT, _S.WITHDRAWN})
_BEFORE_ACCEPTANCE = frozenset(s for s, stage in STAGE_OF.items() if stage is ApplicationStage.AWAITING_ACCEPTANCE)
_APPROVAL_STEPS = frozenset({_S.ACCEPTED, _S.SITE_INSPECTION, _S.EXPERT_REVIEW, _S.SECTION_REVIEW,
                             _S.LEADER_APPROVAL})
# To the status the application left when it was suspended or asked for more material (suspended_from).
BACK = None
# The status does not change: the action moves one of the tracks of a granted case (制证, 邮寄, 评价).
SAME = "SAME"

# action: (the statuses it may start from, the status it leads to, BACK or SAME).
TRANSITIONS: dict[Action, tuple[frozenset[ApplicationStatus], ApplicationStatus | str | None]] = {
    A.SAVE: (_EDITABLE, _S.DRAFT),
    A.SUBMIT: (_EDITABLE, _S.PRE_REVIEW),
    A.WITHDRAW: (_BEFORE_ACCEPTANCE, _S.WITHDRAWN),
    A.RESUBMIT: (frozenset({_S.CORRECTION_REQUIRED, _S.RETURNED}), _S.PRE_REVIEW),
    A.RECEIVE_WALK_IN: (frozenset({_S.NEW}), _S.RECEIVED),
    A.HANDOVER: (frozenset({_S.RECEIVED}), _S.HANDOVER),
    A.COMPLETE_MATERIALS: (frozenset({_S.HANDOVER}), _S.MATERIALS_COMPLETED),
    A.START_ACCEPTANCE: (frozenset({_S.PRE_REVIEW, _S.MATERIALS_COMPLETED}), _S.UNDER_ACCEPTANCE),
    A.ACCEPT: (frozenset({_S.PRE_REVIEW, _S.RECEIVED, _S.MATERIALS_COMPLETED, _S.UNDER_ACCEPTANCE}), _S.ACCEPTED),
    A.REFUSE: (frozenset({_S.PRE_REVIEW, _S.RECEIVED, _S.MATERIALS_COMPLETED, _S.UNDER_ACCEPTANCE}),
               _S.NOT_ACCEPTED),
    A.REQUEST_CORRECTION: (frozenset({_S.PRE_REVIEW, _S.RECEIVED, _S.MATERIALS_COMPLETED, _S.UNDER_ACCEPTANCE}),
                           _S.CORRECTION_REQUIRED),
    A.RETURN: (frozenset({_S.PRE_REVIEW, _S.RECEIVED, _S.MATERIALS_COMPLETED, _S.UNDER_ACCEPTANCE}), _S.RETURNED),
    A.SEND_TO_INSPECTION: (frozenset({_S.ACCEPTED}), _S.SITE_INSPECTION),
    A.INSPECTION_FAILED: (frozenset({_S.SITE_INSPECTION}), _S.SITE_INSPECTION),
    A.SEND_TO_EXPERTS: (frozenset({_S.ACCEPTED, _S.SITE_INSPECTION}), _S.EXPERT_REVIEW),
    A.SEND_TO_SECTION_REVIEW: (frozenset({_S.ACCEPTED, _S.SITE_INSPECTION, _S.EXPERT_REVIEW}), _S.SECTION_REVIEW),
    A.SECTION_AGREE: (frozenset({_S.SECTION_REVIEW}), _S.LEADER_APPROVAL),
    A.SECTION_DISAGREE: (frozenset({_S.SECTION_REVIEW}), _S.LEADER_APPROVAL),
    A.APPROVE: (frozenset({_S.LEADER_APPROVAL}), _S.APPROVED),
    A.DENY: (frozenset({_S.LEADER_APPROVAL}), _S.REJECTED),
    A.REQUEST_SUPPLEMENT: (_APPROVAL_STEPS, _S.SUPPLEMENT_REQUIRED),
    A.SUPPLY: (frozenset({_S.SUPPLEMENT_REQUIRED}), BACK),
    A.SUSPEND: (_APPROVAL_STEPS, _S.SUSPENDED),
    A.RESUME: (frozenset({_S.SUSPENDED}), BACK),
    A.TERMINATE: (_APPROVAL_STEPS | {_S.SUSPENDED, _S.SUPPLEMENT_REQUIRED}, _S.TERMINATED),
    A.REVOKE: (_APPROVAL_STEPS | {_S.SUSPENDED, _S.SUPPLEMENT_REQUIRED}, _S.REVOKED),
    A.VOID: (frozenset(s for s, stage in STAGE_OF.items() if stage is not ApplicationStage.COMPLETED), _S.VOIDED),
    A.ISSUE_CERTIFICATE: (frozenset({_S.APPROVED}), SAME),
    A.MAIL: (frozenset({_S.APPROVED}), SAME),
    A.CONFIRM_RECEIPT: (frozenset({_S.APPROVED}), SAME),
    A.EVALUATE: (frozenset(s for s, stage in STAGE_OF.items() if stage is ApplicationStage.COMPLETED), SAME),
}
assert set(TRANSITIONS) == set(Action)


def next_status(action: Action, current: ApplicationStatus,
                suspended_from: ApplicationStatus | None) -> ApplicationStatus | None:
    """The status `action` leads to from `current`; None if the move is illegal. The tracks' own rules
    (制证 before 邮寄 before 收件, one evaluation) are the workflow's (domain/workflow.py)."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        return None
    if target is BACK:
        return suspended_from
    if target == SAME:
        return current
    assert isinstance(target, ApplicationStatus)
    return target
