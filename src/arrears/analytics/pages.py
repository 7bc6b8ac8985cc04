"""The QC results page (R27, R28): the rates per team and collector over a period, their trend month by
month in a Plotly chart, and the findings most often failed. Plotly's JavaScript is the bundle that
ships inside the `plotly` package, served by the app itself — never from a CDN."""

from __future__ import annotations

import re
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


# Plotly adds its stylesheet as an inline <style> element, which the app's Content-Security-Policy
# (style-src 'self') refuses. Plotly skips that when an element with the id it would use carries the
# class `no-inline-styles`, so the page links the same rules as a stylesheet served from here. The
# rules are read from the shipped bundle itself (its `"X,X div": …` table), so they follow the version.
_RULES_START = '{"X,X div"'
_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*(?:\'((?:[^\'\\]|\\.)*)\'|"((?:[^"\\]|\\.)*)")')


def _object_literal(text: str, start: int) -> str:
    depth, quote, escaped = 0, "", False
    for pos in range(start, len(text)):
        c = text[pos]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
            continue
        if c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start : pos + 1]
    return ""


@lru_cache(maxsize=1)
def plotly_css() -> str:
    """Plotly's own style rules as CSS ('' if the bundle's table cannot be found)."""
    bundle = plotly_bundle().read_text(encoding="utf-8")
    start = bundle.find(_RULES_START)
    if start < 0:
        return ""
    rules = []
    for key, single, double in _PAIR.findall(_object_literal(bundle, start)):
        selector = (
            re.sub(r"^,", " ,", key).replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        )
        body = (single or double).replace("\\'", "'").replace('\\"', '"')
        rules.append(f"{selector}{{{body}}}")
    return "\n".join(rules) + "\n"


# Bundled third-party stylesheets (MapLibre's) are injected as <style id="<hash>"> unless an element
# with that id already exists: the page puts an empty placeholder under each id (no maps are drawn).
_INJECTED = re.compile(r'getElementById\("([0-9a-f]{32,64})"\)\)\{var \w+=document\.createElement\("style"\)')


@lru_cache(maxsize=1)
def plotly_injected_style_ids() -> tuple[str, ...]:
    return tuple(dict.fromkeys(_INJECTED.findall(plotly_bundle().read_text(encoding="utf-8"))))


@router.get("/qc/results/plotly.css")
def plotly_stylesheet() -> Response:
    return Response(plotly_css(), media_type="text/css", headers=CACHE)


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
    calibrations = []
    if allowed(principal, "qc.calibration.read"):  # R24, R26: agreement between inspectors and the machine
        from arrears.quality.review import calibration_report, list_calibrations

        for c in list_calibrations(session, principal, limit=5):
            if c["status"] == "closed":
                rep = calibration_report(session, principal, c["id"])
                kappas = [m["kappa"] for m in rep.machine_vs_inspector if m["kappa"] is not None]
                c.update(fleiss_kappa=rep.fleiss_kappa, agreement=rep.percent_agreement, units=rep.units,
                         machine_kappa=round(sum(kappas) / len(kappas), 3) if kappas else None,
                         mean_range=rep.spread["mean_range"] if rep.spread else None)  # fmt: skip
            calibrations.append(c)
    chart = {
        "periods": [
            {"label": p["start"].strftime("%Y-%m"), **{k: p["rows"][0][k] for k in (
                "recovery_rate", "overdue_rate", "bad_debt_rate", "abnormal_per_contact")}}
            for p in periods if p["rows"]
        ],
        "source": "reviewed" if findings["reviewed"] else "machine",
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
        "findings": findings, "rounds": rounds, "chart": chart, "can": can, "calibrations": calibrations,
        "money": lambda minor: format_major(minor, cur),
        "plotly_style_ids": plotly_injected_style_ids(),
    }  # fmt: skip
    return render(request, state, "quality/results.html", context)
