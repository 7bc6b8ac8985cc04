"""The guard's pre-check of a day's planned contacts, all at once (R20–R22): no planned contact
reaches a queue or a channel without the compliance guard's answer.

Each planned contact is placed at the start of its local time window on the batch date (in the
debtor's zone), addressed to the debtor's first active contact point of the channel's kind, and
decided by `compliance.audit.check_planned` against the contact history and the creditor's pack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from arrears.security.pii import KeyRing

KIND_OF_CHANNEL = {
    "call": "phone",
    "sms": "phone",
    "voicemail": "phone",
    "email": "email",
    "letter": "address",
    "visit": "address",
}
# Contact history for the guard: a contact-log frame (columns of `compliance check`) or None when
# no contacts are recorded yet. Case work plugs its contact log in here.
HistoryLoader = Callable[[Connection, date], pl.DataFrame | None]


def no_history(_conn: Connection, _as_of: date) -> pl.DataFrame | None:
    return None


def _first_contact_points(
    conn: Connection, debtor_ids: list[int], keys: KeyRing
) -> dict[tuple[int, str], tuple[str, str | None]]:
    out: dict[tuple[int, str], tuple[str, str | None]] = {}
    if not debtor_ids:
        return out
    stmt = text(
        "SELECT debtor_id, kind, value_enc, timezone FROM contact_points "
        "WHERE third_party_id IS NULL AND status = 'active' AND debtor_id IN :ids ORDER BY id"
    ).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(debtor_ids), 20_000):
        for debtor_id, kind, blob, tz in conn.execute(stmt, {"ids": debtor_ids[start : start + 20_000]}):
            key = (int(debtor_id), kind)
            if key not in out:
                out[key] = (keys.decrypt(bytes(blob)), tz)
    return out


def precheck(
    conn: Connection,
    plan: pa.Table,
    people: pa.Table,
    as_of: date,
    keys: KeyRing,
    history: pl.DataFrame | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """allowed (int8) and the blocking rule ids (comma-separated) for every row of `plan`.

    `people` maps account id → debtor_id, account_ref, timezone, rule_pack."""
    from arrears.compliance.audit import check_planned
    from arrears.compliance.packs import load_pack

    n = plan.num_rows
    allowed = np.ones(n, dtype=np.int8)
    rules: list[str | None] = [None] * n
    selected = pl.from_arrow(plan.select(["id", "action", "channel", "window_start"]))
    assert isinstance(selected, pl.DataFrame)
    p = selected.with_row_index("_i")
    who = pl.from_arrow(people)
    assert isinstance(who, pl.DataFrame)
    todo = p.filter(pl.col("action") == "contact").join(who, on="id", how="left")
    if todo.height == 0:
        return allowed, rules
    points = _first_contact_points(conn, todo["debtor_id"].unique().to_list(), keys)
    hist = history if history is not None and history.height else None
    starts: dict[tuple[str, str], datetime] = {}
    rows = []
    for r in todo.iter_rows(named=True):
        kind = KIND_OF_CHANNEL.get(r["channel"] or "", "phone")
        point = points.get((int(r["debtor_id"]), kind))
        if point is None:  # nothing to contact on this channel: the plan cannot be carried out
            allowed[r["_i"]] = 0
            rules[r["_i"]] = "NO-CONTACT-POINT"
            continue
        tz = point[1] or r["timezone"] or "Asia/Shanghai"
        key = (tz, r["window_start"] or "09:00")
        if key not in starts:
            hh, mm = key[1].split(":")
            starts[key] = datetime.combine(as_of, time(int(hh) % 24, int(mm)), ZoneInfo(tz)).astimezone(UTC)
        rows.append(
            {
                "_i": r["_i"],
                "at": starts[key],
                "account": r["account_ref"],
                "person": str(r["debtor_id"]),
                "party": "debtor",
                "channel": r["channel"],
                "contact": point[0],
                "tz": tz,
                "pack": r["rule_pack"] or "cn",
            }
        )
    if not rows:
        return allowed, rules
    frame = pl.DataFrame(rows, schema_overrides={"at": pl.Datetime("us", "UTC")})
    for pack_name in frame["pack"].unique().to_list():
        part = frame.filter(pl.col("pack") == pack_name)
        decided = check_planned(part.drop("_i", "pack"), hist, load_pack(pack_name))
        for i, ok, rs in zip(
            part["_i"].to_list(), decided["allowed"].to_list(), decided["rules"].to_list(), strict=True
        ):
            if not ok:
                allowed[i] = 0
                rules[i] = ",".join(rs) if rs else None
    return allowed, rules


def with_days_since_contact(feats: pa.Table, log: pl.DataFrame | None, as_of: date) -> pa.Table:
    """Fill `days_since_contact` (for step conditions such as `no_contact_days`) from the contact log:
    days from the last contact attempt about the account to the batch date; null when never contacted."""
    i = feats.schema.get_field_index("days_since_contact")
    if log is None or log.height == 0:
        return feats
    last = (
        log.filter(pl.col("kind") == "attempt")
        .with_columns(pl.col("at").str.to_datetime(time_zone="UTC", strict=False).dt.date().alias("day"))
        .filter(pl.col("day") <= as_of)
        .group_by("account")
        .agg(pl.col("day").max())
    )
    refs = pl.DataFrame({"account": feats["account_ref"].to_pylist()})
    days = refs.join(last, on="account", how="left").select(
        (pl.lit(as_of) - pl.col("day")).dt.total_days().cast(pl.Int32).alias("d")
    )["d"]
    return feats.set_column(i, "days_since_contact", days.to_arrow())
