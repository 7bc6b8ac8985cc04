"""The compliance guard: scalar decisions per second, and a 1,000,000-row contact-log audit.

    python -m bench.bench_guard [--rows 1000000] [--pack cn|us|both] [--sample 20000] [--decisions 20000]

Prints one JSON object. Per pack:
- `scalar_decisions_per_s`: `Guard.decide` in front of single contacts, against a history of the
  log's first 200,000 rows (warm caches, as in a running service);
- `command_s`: the whole `arrears compliance check LOG.csv --pack P --json` in a fresh process
  (start-up, imports, lexicon loading, reading, deciding, writing), with its CPU seconds (user + sys of
  the child) and whether its output is byte for byte the NDJSON of `audit_columnar` (`command_output_same`);
- `audit_end_to_end_s`: what that command does after start-up, in this process — read and validate the
  CSV (`read_validate_s`), decide every attempt and write one JSON line per attempt (`decide_write_s`,
  `audit_ndjson` to a null sink); the screening lexicons are already loaded;
- `audit_columnar_s`: the columnar decision alone, on the parsed log, as the answer frame
  (`write_json_s`: writing that frame as NDJSON);
- `scalar_replay_s_extrapolated`: the reference (replaying the scalar guard row by row) timed on the
  log's first `--sample` rows and scaled to all rows; `speedup` = that / `audit_columnar_s`;
- `sample_agrees`: whether columnar and scalar answers are identical on that sample.
Wall times come with process CPU times (`*_cpu_s`): on a shared machine the CPU figures are the steadier
ones (the columnar engine runs on several threads, so its CPU time can exceed its wall time).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.compliance.audit import audit_columnar, audit_ndjson, audit_scalar, read_log
from arrears.compliance.guard import Attempt, ContactHistory, ContactPoint, Event, Guard, ProposedContact
from arrears.compliance.packs import load_pack
from arrears.compliance.timezones import contact_kind, from_us

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30

SETUP = {
    "cn": {
        "zones": ["Asia/Shanghai"],
        "prefixes": ["+86138", "+86139", "+86150", "+86186", "+86136", "+86137", "+86158", "+86188"],
        "digits": 8,
        "utc_offset_h": [8] * 8,
        "texts": [
            "【某银行】尊敬的客户，您的账单已逾期，请尽快还款，如有疑问请致电95500。",
            "【某银行】您好，请尽快与我们联系，电话95500。",
            "您好，请转告张先生尽快回电。",
            "尊敬的 {{ name }}：您的欠款金额为 {{ amount_owed }} 元，欠款原因：信用卡消费逾期，依据信用卡领用合约。"
            "您有权利了解账户信息，也有按约还款的义务。请登录网银查询账户。还款方式：转账至还款账户。"
            "如有异议请提出申诉。联系电话：95500。",
            "尊敬的 {{ name }}：请尽快还款。",
        ],
    },
    "us": {
        "zones": ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
        "prefixes": [
            "+1212",
            "+1312",
            "+1415",
            "+1208",
            "+1605",
            "+1702",
            "+1305",
            "+1713",
            "+1617",
            "+1206",
        ],
        "digits": 7,
        "utc_offset_h": [-4, -5, -7, -6, -5, -7, -4, -5, -4, -7],
        "texts": [
            "ACME Services: please call us at 800-555-0100. Reply STOP to opt out.",
            "ACME Services: a message about your account. Text STOP to unsubscribe.",
            "This is Jane Roe from ACME Services, please call me back at 800-555-0100.",
            "Please ask John to call Jane at 800-555-0100.",
            "Your account is past due. Please pay online at acme.example.",
        ],
    },
}


def generate_log(rows: int, pack: str, seed: int = 11) -> pl.DataFrame:
    """A month of a mid-size operation: rows/16 debtors with 2 numbers each, a quarter as many third
    parties, 2 % events (consents, opt-outs, disputes, holds), texts on half of the messages."""
    rng = np.random.default_rng(seed)
    s = SETUP[pack]
    debtors = max(rows // 16, 10)
    thirds = max(debtors // 4, 5)
    n_persons = debtors + thirds
    prefixes = np.array(s["prefixes"])
    prefix_idx = rng.integers(0, len(prefixes), n_persons * 2)
    phones = np.char.add(
        prefixes[prefix_idx],
        np.char.zfill(rng.integers(0, 10 ** s["digits"], n_persons * 2).astype(str), s["digits"]),
    )
    if pack == "us":  # NANP exchanges start with 2–9
        first = rng.integers(2, 10, n_persons * 2).astype(str)
        phones = np.array([p[:5] + f + p[6:] for p, f in zip(phones.tolist(), first.tolist(), strict=True)])
    is_event = rng.random(rows) < 0.02
    third = ~is_event & (rng.random(rows) < 0.05)
    intensity = rng.gamma(2.0, 1.0, debtors)  # some debtors are worked much harder than others
    debtor_idx = rng.choice(debtors, rows, p=intensity / intensity.sum())
    kinds = np.array(
        [
            "consent",
            "opt_out",
            "dispute",
            "verified",
            "cease",
            "bankruptcy",
            "attorney",
            "third_party_refused",
        ]
    )
    kind = np.where(
        is_event, kinds[rng.choice(8, rows, p=[0.4, 0.2, 0.1, 0.1, 0.08, 0.03, 0.04, 0.05])], "attempt"
    )
    refused = kind == "third_party_refused"
    person_idx = np.where(third | refused, debtors + debtor_idx % thirds, debtor_idx)
    account_idx = debtor_idx * 2 + (rng.random(rows) < 0.15)
    channel = np.array(["call", "sms", "voicemail", "email", "visit", "letter"])[
        rng.choice(6, rows, p=[0.70, 0.15, 0.03, 0.05, 0.02, 0.05])
    ]
    which = rng.integers(0, 2, rows)
    phone = phones[person_idx * 2 + which]
    contact = np.where(
        channel == "email",
        np.char.add(np.char.add("p", person_idx.astype(str)), "@example.com"),
        np.where(
            np.isin(channel, ["visit", "letter"]), np.char.add("address of p", person_idx.astype(str)), phone
        ),
    )
    outcomes = np.array(
        ["conversation", "connected", "no_answer", "voicemail", "busy", "failed", "wrong_number", "refused"]
    )
    outcome = np.where(
        np.isin(channel, ["call", "voicemail"]),
        outcomes[rng.choice(8, rows, p=[0.15, 0.10, 0.45, 0.12, 0.08, 0.05, 0.03, 0.02])],
        np.where(rng.random(rows) < 0.9, "delivered", "failed"),
    )
    hour_w = np.array(
        [1, 1, 1, 1, 1, 1, 2, 6, 30, 60, 70, 70, 60, 60, 70, 70, 60, 50, 40, 30, 20, 10, 4, 2], float
    )
    seconds = (
        rng.integers(0, DAYS, rows) * 86_400
        + rng.choice(24, rows, p=hour_w / hour_w.sum()) * 3600
        + rng.integers(0, 3600, rows)
    )
    # local clock of the person's first number (October: daylight saving time in the United States)
    utc_offset_h = np.array(s["utc_offset_h"])[prefix_idx[person_idx * 2]]
    at_us = (int(START.timestamp()) + seconds - utc_offset_h * 3600) * 1_000_000
    party = np.where(third, np.where(rng.random(rows) < 0.8, "third_party", "employer"), "debtor")
    texts = np.array(s["texts"])
    with_text = (
        ~is_event & np.isin(channel, ["sms", "email", "letter", "voicemail"]) & (rng.random(rows) < 0.5)
    )
    text = np.where(with_text, texts[rng.integers(0, len(texts), rows)], "")
    zone = s["zones"][0]
    frame = pl.DataFrame(
        {
            "id": np.char.add("r", np.arange(rows).astype(str)),
            "at_us": at_us,
            "account": np.char.add("A", account_idx.astype(str)),
            "person": np.where(
                person_idx < debtors,
                np.char.add("D", person_idx.astype(str)),
                np.char.add("T", person_idx.astype(str)),
            ),
            "party": np.where(is_event, "", party),
            "channel": np.where(is_event, "", channel),
            "contact": np.where(is_event & (kind != "opt_out"), "", contact),
            "outcome": np.where(is_event, "", outcome),
            "consent": np.where(~is_event & (rng.random(rows) < 0.03), "yes", "no"),
            "kind": kind,
            "text": text,
            "tz": "",
            "staff_count": np.where(channel == "visit", rng.integers(1, 4, rows).astype(str), ""),
        }
    )
    at_text = pl.from_epoch(pl.col("at_us"), "us").dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
    return (
        frame.with_columns(at_text.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("at"))
        .sort("at_us")
        .select(
            "id",
            "at",
            "account",
            "person",
            "party",
            "channel",
            "contact",
            "outcome",
            "consent",
            "kind",
            "text",
            "tz",
            "staff_count",
        )
    )


@dataclass
class _Screened:
    verdict: str = "pass"
    flags: tuple[Any, ...] = field(default=())


def _screen() -> tuple[Any, str]:
    try:
        from arrears.compliance.screening import screen_text
    except ImportError:
        return (
            lambda text, language=None, channel=None, pack=None: _Screened()
        ), "stub (screening not installed)"
    return screen_text, "arrears.compliance.screening"


def _history_items(log: pl.DataFrame) -> list[Attempt | Event]:
    items: list[Attempt | Event] = []
    for r in log.iter_rows(named=True):
        at = from_us(r["at_us"])
        if r["kind"] == "attempt":
            items.append(
                Attempt(
                    at,
                    r["account"],
                    r["person"],
                    r["party"],
                    r["channel"],
                    r["contact"],
                    r["outcome"],
                    r["consent"],
                )
            )
        else:
            items.append(Event(at, r["account"], r["person"], r["kind"], r["scope"]))
    return items


class _Null(io.RawIOBase):
    """A byte sink that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)


def _command(path: Path, pack_name: str, out: Path) -> dict[str, Any]:
    """`arrears compliance check PATH --pack P --json > out` in a fresh process: wall and CPU seconds."""
    exe = Path(sys.executable).with_name("arrears")
    main = "import sys; from arrears.cli import main; sys.exit(main())"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-c", main]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with out.open("wb") as sink:
        done = subprocess.run(
            [*argv, "compliance", "check", str(path), "--pack", pack_name, "--json"], stdout=sink, check=False
        )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "exit": done.returncode}


def bench_pack(pack_name: str, rows: int, sample: int, decisions: int) -> dict[str, Any]:
    pack = load_pack(pack_name, as_of=START.date())
    screen, screen_name = _screen()
    raw = generate_log(rows, pack_name)
    screen("warm up", channel="sms", pack=pack_name)  # lexicons load once per process, not per audit
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        raw.write_csv(path)
        size_mb = os.path.getsize(path) / 1e6
        command = _command(path, pack_name, Path(tmp) / "out.ndjson")
        load_during_command = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        log = read_log(path)
        t1, c1 = time.perf_counter(), time.process_time()
        audit_ndjson(log, pack, _Null(), screen)
        t2, c2 = time.perf_counter(), time.process_time()
        result = audit_columnar(log, pack, screen)
        t3, c3 = time.perf_counter(), time.process_time()
        frame_json = io.BytesIO()
        result.write_ndjson(frame_json)
        t4, c4 = time.perf_counter(), time.process_time()
        command_same = (Path(tmp) / "out.ndjson").read_bytes() == frame_json.getvalue()
    attempts = result.height
    blocked = int((~result["allowed"]).sum())
    by_rule = (
        result.filter(~pl.col("allowed"))
        .select(pl.col("rules").explode())
        .to_series()
        .value_counts(sort=True)
    )

    head = log.head(sample)
    s0, sc0 = time.perf_counter(), time.process_time()
    scalar = audit_scalar(head, pack, screen)
    s1, sc1 = time.perf_counter(), time.process_time()
    agrees = audit_columnar(head, pack, screen).to_dicts() == scalar
    scalar_extrapolated = (s1 - s0) / head.height * log.height
    scalar_extrapolated_cpu = (sc1 - sc0) / head.height * log.height

    history_rows = min(200_000, log.height // 2)
    history = ContactHistory(_history_items(log.head(history_rows)))
    later = log.slice(history_rows).filter(pl.col("kind") == "attempt").head(decisions)
    guard = Guard(pack, screen)
    proposals = [
        ProposedContact(
            from_us(r["at_us"]),
            r["account"],
            r["person"],
            r["party"],
            r["channel"],
            ContactPoint(r["contact"], contact_kind(r["contact"]), r["tz"]),
            r["text"],
            r["consent"],
            r["staff_count"],
        )
        for r in later.iter_rows(named=True)
    ]
    guard.decide(proposals[0], history)  # builds the lazy contact index once, as a running service would
    d0, dc0 = time.perf_counter(), time.process_time()
    for p in proposals:
        guard.decide(p, history)
    d1, dc1 = time.perf_counter(), time.process_time()

    return {
        "pack": pack_name,
        "screening": screen_name,
        "rows": log.height,
        "attempts": attempts,
        "blocked": blocked,
        "blocked_by_rule": dict(
            zip(by_rule[by_rule.columns[0]].to_list(), by_rule["count"].to_list(), strict=True)
        ),
        "distinct_contacts": log["contact"].n_unique(),
        "csv_mb": round(size_mb, 1),
        "command_s": command["wall_s"],
        "command_cpu_s": command["cpu_s"],
        "command_exit": command["exit"],
        "command_output_same": command_same,
        "load_average_1m_at_command": round(load_during_command, 1),
        "read_validate_s": round(t1 - t0, 3),
        "read_validate_cpu_s": round(c1 - c0, 3),
        "decide_write_s": round(t2 - t1, 3),
        "decide_write_cpu_s": round(c2 - c1, 3),
        "audit_end_to_end_s": round(t2 - t0, 3),
        "audit_end_to_end_cpu_s": round(c2 - c0, 3),
        "audit_columnar_s": round(t3 - t2, 3),
        "audit_columnar_cpu_s": round(c3 - c2, 3),
        "write_json_s": round(t4 - t3, 3),
        "write_json_cpu_s": round(c4 - c3, 3),
        "scalar_sample_rows": head.height,
        "scalar_sample_s": round(s1 - s0, 3),
        "scalar_replay_s_extrapolated": round(scalar_extrapolated, 1),
        "scalar_replay_cpu_s_extrapolated": round(scalar_extrapolated_cpu, 1),
        "speedup": round(scalar_extrapolated / (t3 - t2), 1),
        "speedup_cpu": round(scalar_extrapolated_cpu / (c3 - c2), 1),
        "sample_agrees": agrees,
        "scalar_history_rows": history_rows,
        "scalar_decisions": len(proposals),
        "scalar_decisions_per_s": round(len(proposals) / (d1 - d0)),
        "scalar_decisions_per_cpu_s": round(len(proposals) / (dc1 - dc0)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pack", choices=["cn", "us", "both"], default="both")
    ap.add_argument("--sample", type=int, default=20_000, help="rows replayed through the scalar guard")
    ap.add_argument("--decisions", type=int, default=20_000, help="single decisions timed")
    args = ap.parse_args()
    packs = ["cn", "us"] if args.pack == "both" else [args.pack]
    out = {
        "bench": "compliance_guard",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "polars": pl.__version__,
            "load_average_1m": round(os.getloadavg()[0], 1),
        },
        "results": [bench_pack(p, args.rows, args.sample, args.decisions) for p in packs],
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
