"""The guard's pre-check of a day's planned contacts, all at once (R20–R22): no planned contact
reaches a queue or a channel without the compliance guard's answer.

Each planned contact is placed at the start of its local time window on the batch date (in the
debtor's zone), addressed to the debtor's first active contact point of the channel's kind, and
decided by `compliance.audit.check_planned` against the contact history and the creditor's pack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
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


# Above this many debtors one pass over the table is cheaper than chunks of `IN (…)` lookups.
FULL_SCAN_DEBTORS = 200_000
IN_CHUNK = 20_000


def _select_by_debtor(
    conn: Connection, sql: str, where: str, ids: list[int], extra: dict[str, Any]
) -> pl.DataFrame:
    """Rows of `sql` for the given debtor ids: chunked `IN` lookups, or one scan filtered here."""
    frames = []
    if len(ids) > FULL_SCAN_DEBTORS:
        frames.append(_frame(conn.execute(text(f"{sql} WHERE {where}"), extra)))
    else:
        stmt = text(f"{sql} WHERE {where} AND debtor_id IN :ids").bindparams(bindparam("ids", expanding=True))
        for start in range(0, len(ids), IN_CHUNK):
            frames.append(_frame(conn.execute(stmt, {**extra, "ids": ids[start : start + IN_CHUNK]})))
    return pl.concat(frames) if len(frames) > 1 else frames[0]


def _frame(result: Any) -> pl.DataFrame:
    cols = list(result.keys())
    rows = result.cursor.fetchall()  # plain DB-API tuples: no per-row Row objects
    return pl.DataFrame(
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in cols], schema=cols, orient="col"
    )


# The debtors' own active contact points, as the pre-check reads them; the batch may read the whole
# table ahead, in a child process during its snapshot (`precheck(points=…)`).
POINTS_SQL = "SELECT id, debtor_id, kind, value_enc, timezone AS point_tz FROM contact_points"
POINTS_WHERE = "third_party_id IS NULL AND status = 'active'"
ALL_POINTS_SQL = f"{POINTS_SQL} WHERE {POINTS_WHERE}"


def _first_contact_points(
    conn: Connection, wanted: pl.DataFrame, keys: KeyRing, every: pl.DataFrame | None = None
) -> pl.DataFrame:
    """For each wanted (debtor_id, kind): the debtor's first active contact point of that kind (lowest id),
    decrypted, with its zone — only the points a planned contact needs are decrypted. `every`: all
    the debtors' active points (`ALL_POINTS_SQL`), read ahead; otherwise they are read here."""
    kinds = sorted(set(wanted["kind"].to_list()))
    schema = {"debtor_id": pl.Int64, "kind": pl.String, "contact": pl.String, "point_tz": pl.String}
    if every is not None:
        if every.height == 0:
            return pl.DataFrame(schema=schema)
        points = every.filter(pl.col("kind").cast(pl.String).is_in(kinds))
    else:
        points = _select_by_debtor(
            conn,
            POINTS_SQL,
            POINTS_WHERE + " AND kind IN ('" + "', '".join(kinds) + "')",
            wanted["debtor_id"].unique().sort().to_list(),
            {},
        )
    if points.height == 0:
        return pl.DataFrame(schema=schema)
    first = (
        points.with_columns(pl.col("id").cast(pl.Int64), pl.col("debtor_id").cast(pl.Int64))
        .sort("id")
        .unique(["debtor_id", "kind"], keep="first", maintain_order=True)
        .join(wanted, on=["debtor_id", "kind"], how="semi")
    )
    plain = [keys.decrypt(bytes(blob)) for blob in first["value_enc"].to_list()]
    return first.select(
        "debtor_id", "kind", pl.Series("contact", plain, pl.String), pl.col("point_tz").cast(pl.String)
    )


def _debtor_zones(conn: Connection, debtor_ids: list[int]) -> pl.DataFrame:
    if not debtor_ids:
        return pl.DataFrame(schema={"debtor_id": pl.Int64, "debtor_tz": pl.String})
    found = _select_by_debtor(
        conn, "SELECT id AS debtor_id, timezone AS debtor_tz FROM debtors", "1 = 1", debtor_ids, {}
    )
    # the full-scan path reads every debtor; the filter keeps the wanted ones (the IN path already has)
    return found.with_columns(pl.col("debtor_id").cast(pl.Int64), pl.col("debtor_tz").cast(pl.String)).filter(
        pl.col("debtor_id").is_in(debtor_ids)
    )


def precheck(
    conn: Connection,
    plan: pa.Table,
    people: pa.Table,
    as_of: date,
    keys: KeyRing,
    history: pl.DataFrame | None = None,
    points: pa.Table | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """allowed (int8) and the blocking rule ids (comma-separated) for every row of `plan`.

    `people` maps account id → debtor_id, account_ref and rule_pack. Built column-wise: the contact
    points of today's planned contacts only (from `points`, the result of `ALL_POINTS_SQL` read
    ahead, when given), one local window start per (zone, time) pair."""
    from arrears.compliance.audit import check_planned
    from arrears.compliance.packs import load_pack

    n = plan.num_rows
    allowed = np.ones(n, dtype=np.int8)
    rules = np.full(n, None, dtype=object)
    selected = pl.from_arrow(plan.select(["id", "action", "channel", "window_start"]))
    who = pl.from_arrow(people.select(["id", "debtor_id", "account_ref", "rule_pack"]))
    assert isinstance(selected, pl.DataFrame) and isinstance(who, pl.DataFrame)
    todo = (
        selected.with_row_index("_i")
        .filter(pl.col("action") == "contact")
        .join(who, on="id", how="left", maintain_order="left")
        .with_columns(
            pl.col("channel").fill_null("").replace_strict(KIND_OF_CHANNEL, default="phone").alias("kind")
        )
    )
    if todo.height == 0:
        return allowed, rules.tolist()
    every: pl.DataFrame | None = None
    if points is not None:
        frame = pl.from_arrow(points)
        assert isinstance(frame, pl.DataFrame)
        every = frame
    found = _first_contact_points(conn, todo.select("debtor_id", "kind").unique(), keys, every)
    todo = todo.join(found, on=["debtor_id", "kind"], how="left", maintain_order="left")
    # nothing to contact on this channel: the plan cannot be carried out
    missing = todo.filter(pl.col("contact").is_null())["_i"].to_numpy()
    allowed[missing] = 0
    rules[missing] = "NO-CONTACT-POINT"
    todo = todo.filter(pl.col("contact").is_not_null())
    if todo.height == 0:
        return allowed, rules.tolist()
    no_zone = todo.filter(pl.col("point_tz").is_null())["debtor_id"].unique().sort().to_list()
    todo = todo.join(
        _debtor_zones(conn, no_zone), on="debtor_id", how="left", maintain_order="left"
    ).with_columns(
        pl.coalesce("point_tz", "debtor_tz", pl.lit("Asia/Shanghai")).alias("tz"),
        pl.col("window_start").fill_null("09:00").alias("window"),
    )
    pairs = todo.select("tz", "window").unique()
    starts = pl.DataFrame(
        {
            "tz": pairs["tz"],
            "window": pairs["window"],
            "at": [_window_start(as_of, tz, w) for tz, w in pairs.iter_rows()],
        },
        schema_overrides={"at": pl.Datetime("us", "UTC")},
    )
    frame = todo.join(starts, on=["tz", "window"], how="left", maintain_order="left").select(
        "_i",
        "at",
        pl.col("account_ref").alias("account"),
        pl.col("debtor_id").cast(pl.String).alias("person"),
        pl.lit("debtor").alias("party"),
        "channel",
        "contact",
        "tz",
        pl.col("rule_pack").fill_null("cn").alias("pack"),
    )
    hist = history if history is not None and history.height else None
    for pack_name in frame["pack"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("pack") == pack_name)
        decided = check_planned(part.drop("_i", "pack"), hist, load_pack(pack_name))
        verdict = pl.DataFrame(
            {"_i": part["_i"], "ok": decided["allowed"], "rules": decided["rules"].list.join(",")}
        ).filter(~pl.col("ok"))
        allowed[verdict["_i"].to_numpy()] = 0
        for i, r in zip(verdict["_i"].to_list(), verdict["rules"].to_list(), strict=True):
            rules[i] = r or None
    return allowed, rules.tolist()


def _window_start(as_of: date, tz: str, window: str) -> datetime:
    hh, mm = window.split(":")
    return datetime.combine(as_of, time(int(hh) % 24, int(mm)), ZoneInfo(tz)).astimezone(UTC)


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
