"""The strategy as SQL: segment, arm, path and today's step for every account at once.

Generated from a `Strategy` for either engine (DuckDB or Spark) through `core.sqlengines.Dialect`;
`rules.py` is the scalar reference it must agree with. Input view `feats` (one row per active
account): id, account_ref, creditor, product, currency_scale (10^minor units), bucket,
days_past_due, balance_minor, score, ability, willingness, flags, days_since_contact,
state_segment, state_arm, state_entered_on (the open treatment spell, if any).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa

from arrears.core.sqlengines import DUCKDB, Dialect
from arrears.strategy.definition import Condition, Strategy, TreatmentPath

FEATURE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("account_ref", pa.string()),
        ("creditor", pa.string()),
        ("product", pa.string()),
        ("currency_scale", pa.int64()),
        ("bucket", pa.string()),
        ("days_past_due", pa.int32()),
        ("balance_minor", pa.int64()),
        ("score", pa.float64()),
        ("ability", pa.string()),
        ("willingness", pa.string()),
        ("flags", pa.string()),
        ("days_since_contact", pa.int32()),
        ("state_segment", pa.string()),
        ("state_arm", pa.string()),
        ("state_entered_on", pa.date32()),
    ]
)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(_q(v) for v in values)})"


def condition_sql(cond: Condition | None) -> str:
    """The SQL boolean for a condition over the `feats` columns (TRUE when empty)."""
    if cond is None:
        return "TRUE"
    parts: list[str] = []
    if cond.buckets is not None:
        parts.append(_in("bucket", cond.buckets))
    if cond.dpd_min is not None:
        parts.append(f"days_past_due >= {int(cond.dpd_min)}")
    if cond.dpd_max is not None:
        parts.append(f"days_past_due <= {int(cond.dpd_max)}")
    for bound, op in ((cond.balance_min, ">="), (cond.balance_max, "<=")):
        if bound is not None:
            parts.append(
                f"CAST(balance_minor AS DECIMAL(20,0)) {op} CAST({_q(str(Decimal(bound)))} AS DECIMAL(20,4)) * currency_scale"
            )
    if cond.score_min is not None:
        parts.append(f"(score IS NOT NULL AND score >= {float(cond.score_min)!r})")
    if cond.score_max is not None:
        parts.append(f"(score IS NOT NULL AND score <= {float(cond.score_max)!r})")
    if cond.ability is not None:
        parts.append(_in("COALESCE(ability, 'unknown')", cond.ability))
    if cond.willingness is not None:
        parts.append(_in("COALESCE(willingness, 'unknown')", cond.willingness))
    if cond.products is not None:
        parts.append(_in("product", cond.products))
    if cond.creditors is not None:
        parts.append(_in("creditor", cond.creditors))
    if cond.flags_any is not None:
        parts.append(
            "("
            + " OR ".join(
                f"(',' || COALESCE(flags, '') || ',') LIKE {_q('%,' + f + ',%')}" for f in cond.flags_any
            )
            + ")"
        )
    if cond.flags_none is not None:
        parts += [
            f"(',' || COALESCE(flags, '') || ',') NOT LIKE {_q('%,' + f + ',%')}" for f in cond.flags_none
        ]
    if cond.no_contact_days is not None:
        parts.append(f"COALESCE(days_since_contact, 1000000) >= {int(cond.no_contact_days)}")
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _step_case(strategy: Strategy) -> tuple[str, str]:
    """CASE expressions for today's step number and the escalation action, per path."""
    step_arms: list[str] = []
    action_arms: list[str] = []
    for path in strategy.paths:
        p = f"path = {_q(path.id)}"
        if path.legal_after_days is not None:
            action_arms.append(f"WHEN {p} AND days_in_path = {path.legal_after_days} THEN 'legal'")
        if path.agency_after_days is not None:
            action_arms.append(f"WHEN {p} AND days_in_path = {path.agency_after_days} THEN 'agency'")
        step_arms += _path_step_arms(path, p)
    step_case = "CASE " + " ".join(step_arms) + " END" if step_arms else "CAST(NULL AS INTEGER)"
    action_case = "CASE " + " ".join(action_arms) + " END" if action_arms else "CAST(NULL AS STRING)"
    return step_case, action_case


def _path_step_arms(path: TreatmentPath, p: str) -> list[str]:
    arms = []
    for i, step in enumerate(path.steps):
        start = path.self_cure_days + step.day
        if step.repeat_every:
            end = path.self_cure_days + path.steps[i + 1].day if i + 1 < len(path.steps) else None
            timing = f"days_in_path >= {start} AND (days_in_path - {start}) % {step.repeat_every} = 0"
            if end is not None:
                timing += f" AND days_in_path < {end}"
        else:
            timing = f"days_in_path = {start}"
        arms.append(f"WHEN {p} AND {timing} AND {condition_sql(step.when)} THEN {i + 1}")
    return arms


def steps_table(strategy: Strategy) -> pa.Table:
    rows = [
        {
            "s_path": path.id,
            "s_step_no": i + 1,
            "s_channel": s.channel,
            "s_template": s.template,
            "s_tone": s.tone,
            "s_window_start": s.window[0],
            "s_window_end": s.window[1],
        }
        for path in strategy.paths
        for i, s in enumerate(path.steps)
    ]
    schema = pa.schema(
        [
            ("s_path", pa.string()),
            ("s_step_no", pa.int32()),
            ("s_channel", pa.string()),
            ("s_template", pa.string()),
            ("s_tone", pa.string()),
            ("s_window_start", pa.string()),
            ("s_window_end", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def planner_sql(strategy: Strategy, as_of: date, d: Dialect = DUCKDB) -> str:
    """One statement: every account's segment, arm, path, entry date and today's action (if any)."""
    segment_case = (
        "CASE "
        + " ".join(f"WHEN {condition_sql(s.when)} THEN {_q(s.id)}" for s in strategy.segments)
        + " END"
    )
    arm_arms, path_arms = [], []
    for seg in strategy.segments:
        edge = 0.0
        arms = seg.resolved_arms()
        inner = []
        for k, arm in enumerate(arms):
            edge += arm.share
            cond = "TRUE" if k == len(arms) - 1 else f"h < {edge!r}"
            inner.append(f"WHEN {cond} THEN {_q(arm.id)}")
            path_arms.append(f"WHEN segment = {_q(seg.id)} AND arm = {_q(arm.id)} THEN {_q(arm.path)}")
        arm_arms.append(f"WHEN segment = {_q(seg.id)} THEN CASE {' '.join(inner)} END")
    as_of_sql = d.date_literal(as_of)
    step_case, action_case = _step_case(strategy)
    hash_input = f"{_q(strategy.name + ':')} || segment || ':' || account_ref"
    return f"""
WITH seg AS (
    SELECT feats.*, {segment_case} AS segment FROM feats
),
hashed AS (
    SELECT seg.*, {d.hash01(hash_input)} AS h FROM seg
),
armed AS (
    SELECT hashed.*, CASE {" ".join(arm_arms)} END AS arm FROM hashed
),
pathed AS (
    SELECT armed.*, CASE {" ".join(path_arms)} END AS path,
           CASE WHEN state_segment = segment AND state_arm = arm AND state_entered_on IS NOT NULL
                THEN state_entered_on ELSE {as_of_sql} END AS entered_on
    FROM armed
),
timed AS (
    SELECT pathed.*, {d.datediff("entered_on", as_of_sql)} AS days_in_path FROM pathed
),
acted AS (
    SELECT timed.*, {action_case} AS escalation, {step_case} AS step_no FROM timed
)
SELECT a.id, a.segment, a.arm, a.path, a.entered_on, CAST(a.days_in_path AS INTEGER) AS days_in_path,
       CASE WHEN a.escalation IS NOT NULL THEN a.escalation
            WHEN a.step_no IS NOT NULL THEN 'contact' END AS action,
       CASE WHEN a.escalation IS NOT NULL THEN CAST(NULL AS INTEGER) ELSE CAST(a.step_no AS INTEGER) END AS step_no,
       CASE WHEN a.escalation IS NULL THEN st.s_channel END AS channel,
       CASE WHEN a.escalation IS NULL THEN st.s_template END AS template,
       CASE WHEN a.escalation IS NULL THEN st.s_tone END AS tone,
       CASE WHEN a.escalation IS NULL THEN st.s_window_start END AS window_start,
       CASE WHEN a.escalation IS NULL THEN st.s_window_end END AS window_end,
       a.score, a.balance_minor,
       (a.state_segment IS NULL OR a.state_segment <> a.segment OR a.state_arm <> a.arm) AS moved
FROM acted a LEFT JOIN steps st ON st.s_path = a.path AND st.s_step_no = a.step_no
ORDER BY a.id
"""
