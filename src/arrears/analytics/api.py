"""KPI and QC-results routes under /api/v1 (bearer auth; team leads see their own team's figures)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from arrears.analytics import service
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["analytics"])

By = Annotated[Literal["overall", "team", "collector"], Query(description="grouping")]
Currency = Annotated[str, Query(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")]
Creditor = Annotated[str | None, Query(min_length=1, max_length=64)]


class Period(BaseModel):
    start: date
    end: date


def _period(request: Request, start: date | None, end: date | None, months: int = 1) -> Period:
    """The dates given, or by default the current month (or the last `months` months) to today."""
    today = app_ctx(request).clock().date()
    end = end or today
    if start is None:
        y, m = end.year, end.month - (months - 1)
        while m < 1:
            y, m = y - 1, m + 12
        start = date(y, m, 1)
    return Period(start=start, end=end)


@router.get("/kpis", summary="Recovery, overdue, bad-debt and abnormal-collection rates over a period")
def kpis_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("kpi.read"))],
    start: date | None = None,
    end: date | None = None,
    by: By = "overall",
    currency: Currency = "CNY",
    creditor: Creditor = None,
) -> dict[str, Any]:
    p = _period(request, start, end)
    rows = service.kpis(
        session, principal, start=p.start, end=p.end, by=by, currency=currency.upper(), creditor=creditor
    )
    return {
        "start": p.start,
        "end": p.end,
        "by": by,
        "currency": currency.upper(),
        "rows": [r.to_dict() for r in rows],
    }


@router.get("/kpis/series", summary="The same figures month by month (or week by week)")
def series_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("kpi.read"))],
    start: date | None = None,
    end: date | None = None,
    granularity: Annotated[Literal["month", "week"], Query()] = "month",
    by: By = "overall",
    currency: Currency = "CNY",
    creditor: Creditor = None,
) -> dict[str, Any]:
    p = _period(request, start, end, months=6)
    periods = service.series(session, principal, start=p.start, end=p.end, granularity=granularity, by=by,
                             currency=currency.upper(), creditor=creditor)  # fmt: skip
    return {"granularity": granularity, "by": by, "currency": currency.upper(), "periods": periods}


@router.get("/kpis/findings", summary="The scorecard items most often failed")
def findings_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("kpi.read"))],
    start: date | None = None,
    end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    p = _period(request, start, end)
    return service.most_failed(session, principal, start=p.start, end=p.end, limit=limit)


@router.get("/kpis/rounds", summary="QC rounds")
def rounds_route(
    session: Db, principal: Annotated[Principal, Depends(requires("kpi.read"))]
) -> dict[str, Any]:
    return {"items": service.list_rounds(session, principal)}


@router.get("/kpis/rounds/{round_id}", summary="A QC round judged by effect")
def round_route(
    session: Db,
    round_id: Annotated[int, Path(ge=1, le=2**62, description="the QC round id")],
    principal: Annotated[Principal, Depends(requires("kpi.read"))],
    currency: Currency = "CNY",
) -> dict[str, Any]:
    return service.round_results(session, principal, round_id, currency=currency.upper())
