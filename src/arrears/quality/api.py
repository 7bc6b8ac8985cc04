"""Quality inspection and complaints HTTP routes under /api/v1 (bearer auth): interactions (import,
read), QC rounds, reviews (decision, response, arbitration), alerts, notes, calibration, the coaching
library, complaints and QC staff. The routes translate HTTP; the rules live in the services.

Path parameters: `interaction_id`, `review_id`, `round_id`, `calibration_id`, `example_id`,
`complaint_id` (and `case_id` for a case's interactions). Records about another collector's work are
404 for collectors and for team leads outside the collector's team.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from arrears.core.errors import ValidationFailed
from arrears.quality import coaching, review
from arrears.quality import complaints_service as cs
from arrears.quality import interactions as qi
from arrears.quality.conversation import InteractionError
from arrears.security.permissions import authorize, not_found
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["quality"])

MAX_ID = 2**62


def _id(description: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=description)


InteractionId = Annotated[int, _id("the interaction id")]
ReviewId = Annotated[int, _id("the review id")]
RoundId = Annotated[int, _id("the QC round id")]
CalibrationId = Annotated[int, _id("the calibration session id")]
ExampleId = Annotated[int, _id("the coaching example id")]
ComplaintId = Annotated[int, _id("the complaint id")]
CaseId = Annotated[int, _id("the case id")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


def _commit(session: Session, value: Any) -> Any:
    session.commit()
    return value


# --------------------------------------------------------------------------------------------- interactions


class ImportIn(BaseModel):
    lines: list[dict[str, Any]] = Field(
        min_length=1, max_length=5000, description="import lines (see `arrears qc import`)"
    )
    scorecard: str | None = Field(
        default=None, max_length=200, description="a built-in scorecard for every line"
    )


@router.post("/qc/interactions", summary="Import interactions and score them automatically (all or nothing)")
def import_route(
    request: Request,
    session: Db,
    body: ImportIn,
    principal: Annotated[Principal, Depends(requires("qc.interactions.import"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    lines, errors = [], []
    for n, raw in enumerate(body.lines, 1):
        try:
            lines.append(qi.parse_import_line(raw, n))
        except InteractionError as exc:
            errors.append(f"line {n}: {exc.field}: {exc.reason}")
    if errors:
        raise ValidationFailed(
            f"{len(errors)} bad line(s); nothing imported: " + "; ".join(errors[:20]), details=errors
        )
    if body.scorecard and "/" in body.scorecard:
        raise ValidationFailed("scorecard: name a built-in scorecard (NAME or NAME@VERSION)")
    report = qi.import_interactions(
        session, principal, lines, keys=ctx.keys, now=ctx.clock(), scorecard=body.scorecard
    )
    return _commit(session, report.to_dict())


@router.get("/qc/interactions", summary="Interactions in scope with their machine scores")
def list_interactions_route(
    session: Db,
    principal: Annotated[Principal, Depends(requires("qc.interactions.read"))],
    collector_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    fatal: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name}: a time zone is required")
    items, total = qi.list_interactions(session, principal, collector_id=collector_id, since=since, until=until,
                                        fatal=fatal, limit=limit, offset=offset)  # fmt: skip
    return {"items": items, "total": total}


@router.get("/qc/interactions/{interaction_id}", summary="One interaction: transcript and machine findings")
def interaction_route(
    request: Request,
    session: Db,
    interaction_id: InteractionId,
    principal: Annotated[Principal, Depends(requires("qc.interactions.read"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    return _commit(
        session, qi.interaction_detail(session, principal, interaction_id, keys=ctx.keys, now=ctx.clock())
    )


@router.get(
    "/cases/{case_id}/interactions", summary="A case's interactions (the caller's own, for a collector)"
)
def case_interactions_route(
    session: Db,
    case_id: CaseId,
    principal: Annotated[Principal, Depends(requires("qc.interactions.read"))],
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    from arrears.portfolio.models import Case

    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    authorize(principal, "qc.interactions.read", case)
    items, total = qi.list_interactions(session, principal, case_id=case_id, limit=limit, offset=offset)
    return {"items": items, "total": total}


# --------------------------------------------------------------------------------------------- rounds, reviews


class RoundIn(BaseModel):
    period_start: date
    period_end: date
    seed: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=120)


@router.post("/qc/rounds", summary="Run a QC round: sample the period's interactions for review")
def round_route(
    request: Request,
    session: Db,
    body: RoundIn,
    principal: Annotated[Principal, Depends(requires("qc.sample"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    rnd = review.run_round(session, principal, period_start=body.period_start, period_end=body.period_end,
                           now=ctx.clock(), seed=body.seed, name=body.name)  # fmt: skip
    return _commit(
        session, {"id": rnd.id, "name": rnd.name, "considered": rnd.considered, "sampled": rnd.sampled}
    )


@router.get("/qc/rounds/{round_id}", summary="How a QC round went")
def round_summary_route(
    session: Db, round_id: RoundId, principal: Annotated[Principal, Depends(requires("qc.reviews.read"))]
) -> dict[str, Any]:
    return review.round_summary(session, principal, round_id)


@router.get("/qc/reviews", summary="Reviews in scope (a collector: their own feedback)")
def reviews_route(
    session: Db,
    principal: Annotated[Principal, Depends(requires("qc.reviews.read"))],
    status: Annotated[
        Literal["pending", "awaiting_response", "acknowledged", "deemed_accepted", "appealed", "arbitrated"]
        | None,
        Query(),
    ] = None,
    mine: bool = False,
    round_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    items, total = review.list_reviews(session, principal, status=status, mine=mine, round_id=round_id,
                                       limit=limit, offset=offset)  # fmt: skip
    return {"items": items, "total": total}


@router.get("/qc/reviews/{review_id}", summary="One review with its transcript, findings and decisions")
def review_route(
    request: Request,
    session: Db,
    review_id: ReviewId,
    principal: Annotated[Principal, Depends(requires("qc.reviews.read"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    detail = review.review_detail(session, principal, review_id, keys=ctx.keys, now=ctx.clock())
    if principal.role in ("collector", "agency") and detail["status"] == "pending":
        raise not_found("review", review_id)
    return _commit(session, detail)


class DecisionIn(BaseModel):
    decisions: dict[ItemId, bool] = Field(default_factory=dict, max_length=200)
    comments: dict[ItemId, Annotated[str, Field(max_length=400)]] = Field(
        default_factory=dict, max_length=200
    )
    feedback: str = Field(min_length=1, max_length=4000)


@router.post(
    "/qc/reviews/{review_id}/decision", summary="Confirm or overturn the machine's findings; send feedback"
)
def decide_route(
    request: Request,
    session: Db,
    review_id: ReviewId,
    body: DecisionIn,
    principal: Annotated[Principal, Depends(requires("qc.review"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    rv = review.decide(session, principal, review_id, decisions=body.decisions, comments=body.comments,
                       feedback=body.feedback, now=ctx.clock())  # fmt: skip
    return _commit(session, {"id": rv.id, "status": rv.status, "score": rv.score_after, "fatal": rv.fatal_after,
                             "overturned": rv.overturned, "response_due_at": rv.response_due_at})  # fmt: skip


class ResponseIn(BaseModel):
    action: Literal["acknowledge", "appeal"]
    reason: str | None = Field(default=None, max_length=4000)
    items: list[ItemId] | None = Field(default=None, max_length=200)


@router.post(
    "/qc/reviews/{review_id}/response", summary="The collector acknowledges or appeals their feedback"
)
def respond_route(
    request: Request,
    session: Db,
    review_id: ReviewId,
    body: ResponseIn,
    principal: Annotated[Principal, Depends(requires("qc.respond"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    rv = review.respond(session, principal, review_id, appeal=body.action == "appeal", reason=body.reason,
                        items=body.items, now=ctx.clock())  # fmt: skip
    return _commit(session, {"id": rv.id, "status": rv.status, "arbitration_due_at": rv.arbitration_due_at})


class ArbitrationIn(BaseModel):
    decisions: dict[ItemId, bool] = Field(max_length=200)
    note: str = Field(min_length=1, max_length=4000)


@router.post("/qc/reviews/{review_id}/arbitration", summary="A QC lead decides an appeal")
def arbitrate_route(
    request: Request,
    session: Db,
    review_id: ReviewId,
    body: ArbitrationIn,
    principal: Annotated[Principal, Depends(requires("qc.arbitrate"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    rv = review.arbitrate(
        session, principal, review_id, decisions=body.decisions, note=body.note, now=ctx.clock()
    )
    return _commit(session, {"id": rv.id, "status": rv.status, "outcome": rv.arbitration_outcome,
                             "final_score": rv.final_score, "final_fatal": rv.final_fatal})  # fmt: skip


@router.get("/qc/alerts", summary="Workflow steps past their deadline")
def alerts_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("qc.alerts.read"))],
    as_of: datetime | None = None,
) -> dict[str, Any]:
    when = as_of or app_ctx(request).clock()
    if when.tzinfo is None:
        raise ValidationFailed("as_of: a time zone is required")
    alerts = review.overdue_items(session, principal, as_of=when)
    names = qi.usernames(session, [x for a in alerts for x in (a.owner_id, a.collector_id)])
    return {"as_of": when, "items": [a.to_dict(names) for a in alerts]}


class NoteIn(BaseModel):
    kind: Literal["problem", "bottleneck", "suggestion"]
    text: str = Field(min_length=1, max_length=4000)
    review_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    round_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    item: ItemId | None = None


@router.post("/qc/notes", summary="Record a problem, bottleneck or suggestion", status_code=201)
def add_note_route(
    request: Request,
    session: Db,
    body: NoteIn,
    principal: Annotated[Principal, Depends(requires("qc.notes.write"))],
) -> dict[str, Any]:
    note = review.add_note(session, principal, kind=body.kind, text=body.text, review_id=body.review_id,
                           round_id=body.round_id, item=body.item, now=app_ctx(request).clock())  # fmt: skip
    return _commit(session, {"id": note.id, "kind": note.kind})


@router.get("/qc/notes", summary="Inspectors' notes")
def notes_route(
    session: Db,
    principal: Annotated[Principal, Depends(requires("qc.notes.read"))],
    kind: Annotated[Literal["problem", "bottleneck", "suggestion"] | None, Query()] = None,
    round_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    return {"items": review.list_notes(session, principal, kind=kind, round_id=round_id)}


class StaffIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    qc_lead: bool | None = None
    hired_on: date | None = None


@router.post("/qc/staff", summary="Mark a QC lead or record a hiring date")
def staff_route(
    request: Request,
    session: Db,
    body: StaffIn,
    principal: Annotated[Principal, Depends(requires("qc.staff.manage"))],
) -> dict[str, Any]:
    row = review.set_staff(session, principal, body.username, qc_lead=body.qc_lead, hired=body.hired_on,
                           now=app_ctx(request).clock())  # fmt: skip
    return _commit(session, {"user_id": row.user_id, "qc_lead": row.qc_lead, "hired_on": row.hired_on})


# --------------------------------------------------------------------------------------------- calibration


class CalibrationIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    interaction_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=200)
    inspectors: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(min_length=2, max_length=50)


@router.post("/qc/calibrations", summary="Open a blind calibration session", status_code=201)
def open_calibration_route(
    request: Request,
    session: Db,
    body: CalibrationIn,
    principal: Annotated[Principal, Depends(requires("qc.calibration.manage"))],
) -> dict[str, Any]:
    cal = review.open_calibration(session, principal, name=body.name, interaction_ids=body.interaction_ids,
                                  inspectors=body.inspectors, now=app_ctx(request).clock())  # fmt: skip
    return _commit(session, {"id": cal.id, "due_at": cal.due_at})


@router.get("/qc/calibrations/{calibration_id}/task", summary="What the caller scores, blind")
def calibration_task_route(
    request: Request,
    session: Db,
    calibration_id: CalibrationId,
    principal: Annotated[Principal, Depends(requires("qc.calibration.score"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    return _commit(
        session, review.calibration_task(session, principal, calibration_id, keys=ctx.keys, now=ctx.clock())
    )


class CalibrationScoreIn(BaseModel):
    interaction_id: int = Field(ge=1, le=MAX_ID)
    decisions: dict[ItemId, bool] = Field(min_length=1, max_length=200)


@router.post("/qc/calibrations/{calibration_id}/scores", summary="Submit one blind scoring", status_code=201)
def calibration_score_route(
    request: Request,
    session: Db,
    calibration_id: CalibrationId,
    body: CalibrationScoreIn,
    principal: Annotated[Principal, Depends(requires("qc.calibration.score"))],
) -> dict[str, Any]:
    row = review.submit_calibration(session, principal, calibration_id, body.interaction_id,
                                    decisions=body.decisions, now=app_ctx(request).clock())  # fmt: skip
    return _commit(session, {"id": row.id, "score": row.score})


@router.post("/qc/calibrations/{calibration_id}/close", summary="Close a calibration session")
def close_calibration_route(
    request: Request,
    session: Db,
    calibration_id: CalibrationId,
    principal: Annotated[Principal, Depends(requires("qc.calibration.manage"))],
) -> dict[str, Any]:
    cal = review.close_calibration(session, principal, calibration_id, now=app_ctx(request).clock())
    return _commit(session, {"id": cal.id, "status": cal.status})


@router.get("/qc/calibrations/{calibration_id}/report", summary="Agreement figures of a closed session")
def calibration_report_route(
    session: Db,
    calibration_id: CalibrationId,
    principal: Annotated[Principal, Depends(requires("qc.calibration.read"))],
) -> dict[str, Any]:
    return review.calibration_report(session, principal, calibration_id).to_dict()


# --------------------------------------------------------------------------------------------- coaching


@router.get(
    "/coaching/examples", summary="The coaching library: de-identified good and bad examples per item"
)
def library_route(
    session: Db,
    principal: Annotated[Principal, Depends(requires("coaching.read"))],
    item: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[Literal["good", "bad"] | None, Query()] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    return {"items": coaching.library(session, principal, item=item, kind=kind, language=language)}


class ExampleIn(BaseModel):
    interaction_id: int = Field(ge=1, le=MAX_ID)
    item: ItemId
    kind: Literal["good", "bad"]
    note: str | None = Field(default=None, max_length=2000)


@router.post("/coaching/examples", summary="Publish a reviewed interaction as an example", status_code=201)
def publish_route(
    request: Request,
    session: Db,
    body: ExampleIn,
    principal: Annotated[Principal, Depends(requires("coaching.publish"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    ex = coaching.publish_example(session, principal, body.interaction_id, item=body.item, kind=body.kind,
                                  note=body.note, keys=ctx.keys, now=ctx.clock())  # fmt: skip
    return _commit(session, coaching.example_view(ex))


@router.post("/coaching/examples/{example_id}/withdraw", summary="Withdraw an example from the library")
def withdraw_route(
    request: Request,
    session: Db,
    example_id: ExampleId,
    principal: Annotated[Principal, Depends(requires("coaching.publish"))],
) -> dict[str, Any]:
    ex = coaching.withdraw_example(session, principal, example_id, now=app_ctx(request).clock())
    return _commit(session, {"id": ex.id, "withdrawn_at": ex.withdrawn_at})


# --------------------------------------------------------------------------------------------- complaints


class ComplaintBody(BaseModel):
    channel: Literal["portal", "phone", "email", "regulator"]
    text: str = Field(min_length=1, max_length=20_000)
    received_at: datetime | None = None
    complainant: Literal["debtor", "third_party", "representative", "regulator"] = "debtor"
    case_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    account_ref: str | None = Field(default=None, min_length=1, max_length=80)
    creditor: str | None = Field(default=None, min_length=1, max_length=64)
    collector: str | None = Field(default=None, min_length=1, max_length=80)
    interaction_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=50)
    regulator_ref: str | None = Field(default=None, max_length=120)


@router.post("/complaints", summary="Record a complaint; it is triaged automatically", status_code=201)
def complaint_intake_route(
    request: Request,
    session: Db,
    body: ComplaintBody,
    principal: Annotated[Principal, Depends(requires("complaints.create"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    c = cs.intake(session, principal, cs.ComplaintIn(**body.model_dump()), keys=ctx.keys, now=ctx.clock())
    names = qi.usernames(session, [c.collector_id, c.investigator_id])
    return _commit(session, cs.complaint_view(c, names))


@router.get("/complaints", summary="Complaints in scope, soonest deadline first")
def complaints_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("complaints.read"))],
    status: Annotated[Literal["open", "investigating", "closed"] | None, Query()] = None,
    overdue: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    items, total = cs.list_complaints(session, principal, status=status,
                                      overdue_as_of=app_ctx(request).clock() if overdue else None,
                                      limit=limit, offset=offset)  # fmt: skip
    return {"items": items, "total": total}


@router.get("/complaints/{complaint_id}", summary="One complaint as received, with its triage and outcome")
def complaint_route(
    request: Request,
    session: Db,
    complaint_id: ComplaintId,
    principal: Annotated[Principal, Depends(requires("complaints.read"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    return _commit(
        session, cs.complaint_detail(session, principal, complaint_id, keys=ctx.keys, now=ctx.clock())
    )


class AssignIn(BaseModel):
    investigator: str | None = Field(default=None, min_length=1, max_length=80)


@router.post("/complaints/{complaint_id}/assign", summary="Start the investigation")
def complaint_assign_route(
    request: Request,
    session: Db,
    complaint_id: ComplaintId,
    principal: Annotated[Principal, Depends(requires("complaints.investigate"))],
    body: AssignIn | None = None,
) -> dict[str, Any]:
    c = cs.assign(session, principal, complaint_id, investigator=body.investigator if body else None,
                  now=app_ctx(request).clock())  # fmt: skip
    return _commit(session, {"id": c.id, "status": c.status})


class LinkIn(BaseModel):
    interaction_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=50)


@router.post("/complaints/{complaint_id}/interactions", summary="Link interactions to a complaint")
def complaint_link_route(
    request: Request,
    session: Db,
    complaint_id: ComplaintId,
    body: LinkIn,
    principal: Annotated[Principal, Depends(requires("complaints.investigate"))],
) -> dict[str, Any]:
    added = cs.link_interactions(
        session, principal, complaint_id, body.interaction_ids, now=app_ctx(request).clock()
    )
    return _commit(session, {"id": complaint_id, "added": added})


class CloseIn(BaseModel):
    outcome: Literal["upheld", "not_upheld"]
    note: str = Field(min_length=1, max_length=4000)
    category: (
        Literal["harassment", "threat", "false_representation", "disclosure", "dispute", "notice", "other"]
        | None
    ) = None
    conduct: bool | None = None


@router.post("/complaints/{complaint_id}/close", summary="Close the investigation: upheld or not upheld")
def complaint_close_route(
    request: Request,
    session: Db,
    complaint_id: ComplaintId,
    body: CloseIn,
    principal: Annotated[Principal, Depends(requires("complaints.investigate"))],
) -> dict[str, Any]:
    ctx = app_ctx(request)
    c = cs.close(session, principal, complaint_id, outcome=body.outcome, note=body.note, category=body.category,
                 conduct=body.conduct, keys=ctx.keys, now=ctx.clock())  # fmt: skip
    return _commit(session, {"id": c.id, "status": c.status, "outcome": c.outcome,
                             "category": c.category_final or c.category, "conduct": c.conduct_final})  # fmt: skip
