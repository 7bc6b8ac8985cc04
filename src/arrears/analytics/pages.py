"""The QC results page (R27, R28): the rates per team and collector over a period, their trend month by
month in a Plotly chart, and the findings most often failed. Plotly's JavaScript is the bundle that
ships inside the `plotly` package, served by the app itself — never from a CDN."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from arrears.analytics import service
from arrears.core.errors import ValidationFailed
from arrears.core.money import format_major, is_known_currency
from arrears.security.permissions import allowed
from arrears.web.deps import Db, app_ctx
from arrears.web.pages import render, web_state

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
CACHE = {"cache-control": "public, max-age=86400"}


@lru_cache(maxsize=1)
def plotly_bundle() -> Path:
    """plotly.min.js from the installed plotly package (its version is pinned in pyproject.toml)."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"{path} is missing; reinstall plotly")
    return path


@router.get("/qc/results/plotly.min.js")
def plotly_js() -> Response:
    return FileResponse(plotly_bundle(), media_type="text/javascript", headers=CACHE)


@router.get("/qc/results/kpi-charts.js")
def charts_js() -> Response:
    return FileResponse(STATIC / "kpi-charts.js", media_type="text/javascript", headers=CACHE)


def _date(value: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _months_back(end: date, months: int) -> date:
    y, m = end.year, end.month - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


@router.get("/qc/results", response_class=HTMLResponse)
def results_page(
    request: Request, session: Db, start: str = "", end: str = "", currency: str = ""
) -> Response:
    state = web_state(request, session)
    principal = state.principal
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    ctx = app_ctx(request)
    today = ctx.clock().date()
    hi = _date(end, today)
    lo = _date(start, _months_back(hi, 6))
    cur = (currency or ctx.settings.default_currency).upper()[:3]
    if not is_known_currency(cur):
        raise ValidationFailed(f"currency: unknown currency {cur!r}")
    kw: dict[str, Any] = {"start": lo, "end": hi, "currency": cur}
    overall = service.kpis(session, principal, **kw)
    teams = service.kpis(session, principal, by="team", **kw)
    collectors = service.kpis(session, principal, by="collector", **kw)
    periods = service.series(session, principal, **kw)
    findings = service.most_failed(session, principal, start=lo, end=hi)
    rounds = service.list_rounds(session, principal, limit=10)
    chart = {
        "periods": [
            {"label": p["start"].strftime("%Y-%m"), **{k: p["rows"][0][k] for k in (
                "recovery_rate", "overdue_rate", "bad_debt_rate", "abnormal_per_contact")}}
            for p in periods if p["rows"]
        ],
        "findings": [{"item": f["item"], "title": f["title"], "failed": f["failed"]}
                     for f in (findings["reviewed"] or findings["machine"])],
    }  # fmt: skip
    can = {
        "complaints": allowed(principal, "complaints.read"),
        "complaints_create": allowed(principal, "complaints.create"),
        "results": True,
    }
    context = {
        "start": lo, "end": hi, "currency": cur, "overall": overall[0].to_dict() if overall else None,
        "teams": [r.to_dict() for r in teams], "collectors": [r.to_dict() for r in collectors],
        "findings": findings, "rounds": rounds, "chart": chart, "can": can,
        "money": lambda minor: format_major(minor, cur),
    }  # fmt: skip
    return render(request, state, "quality/results.html", context)
