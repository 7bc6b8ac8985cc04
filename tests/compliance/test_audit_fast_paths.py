"""The shortcuts of the columnar audit answer exactly as the plain steps they stand for: the one-pass
reading of the usual `at` spelling, the batch screening of distinct texts and the per-value contact codes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from arrears.compliance.audit import (
    _AWARE,
    LogError,
    _Grouping,
    _usual_at,
    audit_columnar,
    audit_ndjson,
    audit_scalar,
    normalise_log,
)
from arrears.compliance.packs import load_pack
from arrears.compliance.rules import TextChecker
from arrears.compliance.timezones import from_us, local_to_utc_us, to_us, utc_offsets_us, zone

PACK = load_pack("us", as_of=date(2026, 6, 1))


def _log(at: list[str], tz: list[str | None] | None = None) -> pl.DataFrame:
    n = len(at)
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "at": at,
            "account": ["A1"] * n,
            "person": ["P1"] * n,
            "party": ["debtor"] * n,
            "channel": ["call"] * n,
            "contact": ["+12125550123"] * n,
            "tz": tz or [None] * n,
        }
    )


def _us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("spelling", "tz", "expected"),
    [
        ("2026-05-13T10:00:00+08:00", None, datetime(2026, 5, 13, 2, tzinfo=UTC)),
        ("2026-05-13T10:00:00.250-04:00", None, datetime(2026, 5, 13, 14, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-05-13T10:00:00Z", None, datetime(2026, 5, 13, 10, tzinfo=UTC)),
        ("2026-05-13 10:00:00+02:00", None, datetime(2026, 5, 13, 8, tzinfo=UTC)),
        ("2026-05-13 10:00:00Z", None, datetime(2026, 5, 13, 10, tzinfo=UTC)),
        ("2026-05-13T10:00+00:00", None, datetime(2026, 5, 13, 10, tzinfo=UTC)),
        ("2026-05-13T10:00:00+0530", None, datetime(2026, 5, 13, 4, 30, tzinfo=UTC)),
        ("2026-05-13T10:00", "America/New_York", datetime(2026, 5, 13, 14, tzinfo=UTC)),
        ("2026-05-13 10:00:00", "Asia/Shanghai", datetime(2026, 5, 13, 2, tzinfo=UTC)),
        (
            "2026-11-01T01:30:00",
            "America/New_York",
            datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
        ),
        ("20260513T100000+0100", None, datetime(2026, 5, 13, 9, tzinfo=UTC)),
    ],
)
def test_every_at_spelling_reads_as_before(spelling: str, tz: str | None, expected: datetime) -> None:
    usual = "2026-05-13T10:00:00+08:00"
    log = normalise_log(_log([usual, spelling, usual], [None, tz, None]))
    usual_us = _us(datetime(2026, 5, 13, 2, tzinfo=UTC))
    assert log["at_us"].to_list() == [usual_us, _us(expected), usual_us]


@dataclass(frozen=True)
class Flag:
    category: str
    start: int = 0
    end: int = 1
    match: str = ""
    rule: str = ""


@dataclass(frozen=True)
class Screened:
    verdict: str
    flags: tuple[Flag, ...] = field(default=())


class BatchScreener:
    """A screener with `screen` and `screen_many` (which answers as `screen` text by text)."""

    def __init__(self) -> None:
        self.single: list[str] = []
        self.batches: list[tuple[str | None, list[str]]] = []

    def _judge(self, text: str) -> Screened:
        if "hurt you" in text:
            return Screened("block", (Flag("threat"),))
        if "maybe" in text:
            return Screened("review", (Flag("pressure"),))
        return Screened("pass")

    def screen(
        self, text: str, language: str | None = None, channel: str | None = None, pack: object = None
    ) -> Screened:
        self.single.append(text)
        return self._judge(text)

    def screen_many(
        self,
        texts: list[str],
        *,
        language: str | None = None,
        channel: str | None = None,
        pack: object = None,
    ) -> list[Screened]:
        self.batches.append((channel, list(texts)))
        return [self._judge(t) for t in texts]


TEXTS = ["Pay or we will hurt you.", "maybe you should pay", "Reply STOP to opt out.", "Your balance is due."]


def test_prepare_screens_each_distinct_text_once_per_channel() -> None:
    s = BatchScreener()
    checker = TextChecker(PACK, s.screen)
    pairs = [(t, c) for c in ("sms", "email") for t in TEXTS] * 3
    checker.prepare(pairs)
    assert sorted(c for c, _ in s.batches) == ["email", "sms"]
    assert all(texts == TEXTS for _, texts in s.batches)
    reference = TextChecker(PACK, BatchScreener().screen)
    assert [checker.findings(t, c) for t, c in pairs] == [reference.findings(t, c) for t, c in pairs]
    assert s.single == []  # everything came from the batch


def test_prepare_without_a_batch_call_leaves_screening_to_findings() -> None:
    calls: list[str] = []

    def screen(
        text: str, language: str | None = None, channel: str | None = None, pack: object = None
    ) -> Screened:
        calls.append(text)
        return Screened("pass")

    checker = TextChecker(PACK, screen)
    checker.prepare([(t, "sms") for t in TEXTS])
    assert calls == []
    checker.findings(TEXTS[0], "sms")
    assert calls == [TEXTS[0]]


def test_batch_screening_gives_the_scalar_answers() -> None:
    at = [f"2026-05-{d:02d}T{h:02d}:00:00-04:00" for d in range(4, 12) for h in (9, 13, 22)]
    n = len(at)
    log = _log(at).with_columns(
        pl.Series("channel", ["sms", "email", "call"] * (n // 3)),
        pl.Series("contact", ["+12125550123", "p1@example.com", "+12125550123"] * (n // 3)),
        pl.Series("text", [TEXTS[i % len(TEXTS)] for i in range(n)]),
        pl.Series("party", ["debtor", "third_party", "debtor"] * (n // 3)),
    )
    frame = normalise_log(log)
    s = BatchScreener()
    columnar = audit_columnar(frame, PACK, s.screen).to_dicts()
    assert s.batches and s.single == []
    assert columnar == audit_scalar(frame, PACK, BatchScreener().screen)
    assert any(not row["allowed"] for row in columnar)


@pytest.mark.parametrize("scale", [1, 1 << 50])
def test_grouping_queries_match_a_direct_scan(scale: int) -> None:
    rng = np.random.default_rng(7)
    n = 400
    group = rng.integers(-1, 12, n).astype(np.int64)
    group = np.where(group >= 0, group * scale, -1)  # large codes take the unpacked path
    qual = rng.random(n) < 0.3
    lo = np.maximum(np.arange(n) - rng.integers(0, 40, n), 0)
    g = _Grouping(group)
    last, count, window = g.last_prior(qual), g.count_prior(qual), g.count_prior(qual, lo)
    for i in range(n):
        same = [j for j in range(i) if group[i] >= 0 and group[j] == group[i] and qual[j]]
        assert last[i] == (same[-1] if same else -1)
        assert count[i] == len(same)
        assert window[i] == len([j for j in same if j >= lo[i]])


def test_the_usual_at_spelling_reads_as_the_general_format() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    fields = {
        "y": rng.integers(1890, 2101, n),
        "mo": rng.integers(0, 14, n),
        "d": rng.integers(0, 33, n),
        "h": rng.integers(0, 26, n),
        "mi": rng.integers(0, 61, n),
        "s": rng.integers(0, 61, n),
        "oh": rng.integers(0, 27, n),
        "om": rng.integers(0, 61, n),
    }
    signs = rng.choice(["+", "-"], n)
    spellings = [
        f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{sg}{oh:02d}:{om:02d}"
        for y, mo, d, h, mi, s, oh, om, sg in zip(*fields.values(), signs, strict=True)
    ]
    spellings += ["2026-05-13T10:00:00+0800", "2026-05-13T10:00:00 +08:00", "2026-05-13T10:00:00Z"]
    spellings += ["2026-05-13 10:00:00+08:00", "2026-05-13T10:00:00.5+08:00", "2026-02-29T10:00:00+08:00"]
    frame = pl.DataFrame({"at": spellings})
    usual, ok = _usual_at(pl.col("at"))
    general = pl.col("at").str.to_datetime(_AWARE[0], strict=False, time_unit="us").dt.epoch("us")
    got = frame.select(usual.alias("usual"), ok.alias("ok"), general.alias("general"))
    taken = got.filter("ok")
    assert taken.height > n // 4  # the valid ones are read in one pass
    assert taken["general"].null_count() == 0
    assert (taken["usual"] == taken["general"]).all()


def test_ndjson_lines_are_those_of_the_answer_frame() -> None:
    at = [f"2026-05-{d:02d}T{h:02d}:00:00-04:00" for d in range(4, 12) for h in (9, 13, 22)]
    n = len(at)
    odd_ids = ['q"uote', "back\\slash", "ünï 中文", "ctl\x01\x1f\x7f", "tab\tnl", "/slash", "\u2028", "😀"]
    log = _log(at).with_columns(
        pl.Series("id", [odd_ids[i % len(odd_ids)] + str(i) for i in range(n)]),
        pl.Series("channel", ["sms", "email", "call"] * (n // 3)),
        pl.Series("contact", ["+12125550123", "p1@example.com", "+12125550123"] * (n // 3)),
        pl.Series("text", [TEXTS[i % len(TEXTS)] for i in range(n)]),
        pl.Series("party", ["debtor", "third_party", "debtor"] * (n // 3)),
    )
    frame = normalise_log(log)
    expected = io.BytesIO()
    audit_columnar(frame, PACK, BatchScreener().screen).write_ndjson(expected)
    got = io.BytesIO()
    assert audit_ndjson(frame, PACK, got, BatchScreener().screen) == n
    assert got.getvalue() == expected.getvalue()
    assert len({line.split(b'"allowed"')[1] for line in got.getvalue().splitlines()}) > 2
    empty = io.BytesIO()
    assert audit_ndjson(frame.filter(pl.col("kind") != "attempt"), PACK, empty) == 0
    assert empty.getvalue() == b""


@pytest.mark.parametrize("zone_name", ["America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_offsets_far_apart_and_before_1970_equal_zoneinfo(zone_name: str) -> None:
    moments = [datetime(1950, 6, 1, 12, 7), datetime(1969, 12, 31, 23, 59), datetime(2026, 3, 8, 7, 30)]
    moments += [datetime(2026, 11, 1, 5, 59), datetime(2090, 1, 2, 3, 4)]
    t = np.array([to_us(m.replace(tzinfo=UTC)) for m in moments], dtype=np.int64)
    offsets = utc_offsets_us(zone_name, t)
    for us, got in zip(t.tolist(), offsets.tolist(), strict=True):
        off = from_us(us).astimezone(zone(zone_name)).utcoffset()
        assert off is not None and got == off // timedelta(microseconds=1)
    back = local_to_utc_us(zone_name, t)  # the same numbers read as local wall-clock times
    for us, got in zip(t.tolist(), back.tolist(), strict=True):
        naive = datetime(1970, 1, 1) + timedelta(microseconds=us)
        assert got == to_us(naive.replace(tzinfo=zone(zone_name)))


def _row(**kw: str) -> dict[str, str]:
    base = {"id": "r1", "at": "2026-05-13T10:00:00Z", "account": "A1", "person": "P1", "party": "debtor"}
    return {**base, "channel": "call", "contact": "+12125550123", **kw}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [_row(), _row(id="r2", staff_count="two")],
            "row 2 (id r2): staff_count: 'two' is not a whole number",
        ),
        ([_row(staff_count="-1"), _row(id="r2")], "row 1 (id r1): staff_count: '-1' is not a whole number"),
        ([_row(ids_shown="perhaps")], "ids_shown: 'perhaps' is not yes or no"),
        ([_row(kind="consent", scope="forever")], "scope: 'forever' is not call, recontact"),
        ([_row(tz="Mars/Base", at="2026-05-13T10:00")], "tz: 'Mars/Base' is not an IANA"),
        ([_row(channel=" FAX ")], "channel: 'fax' is not one of"),
        ([_row(outcome="hung_up"), _row(id="r2", outcome="hung_up")], "outcome: 'hung_up' is not one of"),
        # the checks are taken in their order, whichever row comes first
        ([_row(staff_count="x"), _row(id="r2", party="neighbour")], "row 2 (id r2): party: 'neighbour'"),
        ([_row(consent="maybe"), _row(id="r2", kind="promise")], "row 2 (id r2): kind: 'promise'"),
        ([_row(), _row(id="r2", party="")], "row 2 (id r2): party: is empty for an attempt"),
    ],
)
def test_each_check_names_its_first_row(rows: list[dict[str, str]], message: str) -> None:
    columns = sorted({k for r in rows for k in r})
    raw = pl.DataFrame({c: [r.get(c, "") for r in rows] for c in columns})
    with pytest.raises(LogError) as err:
        normalise_log(raw)
    assert message in str(err.value)
    if "hung_up" in message:
        assert "1 more row(s) like it" in str(err.value)
