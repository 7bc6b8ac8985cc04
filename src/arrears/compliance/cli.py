"""Compliance commands: `arrears compliance check` (audit a contact log) and `arrears compliance packs`."""

from __future__ import annotations

import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from arrears.core.cli_support import fail, print_json
from arrears.core.clock import utc_now
from arrears.core.errors import ArrearsError

_HHMM = re.compile(r"^\d{1,2}:\d{2}$")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Compliance (合规): rule packs, the contact guard, audits of contact logs.",
        no_args_is_help=True,
    )
    app.add_typer(group, name="compliance")

    @group.command("check")
    def check(
        log: Annotated[
            Path, typer.Argument(help="Contact log CSV: id,at,account,person,party,channel,contact,…")
        ],
        pack: Annotated[str, typer.Option("--pack", help="Rule pack: cn or us.")] = "cn",
        as_json: Annotated[bool, typer.Option("--json", help="One JSON line per attempt.")] = False,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Load the pack as of this date (default: the log's last day)."),
        ] = None,
        override: Annotated[
            list[str] | None,
            typer.Option("--override", help="Tighten a parameter: RULE.parameter=value (repeatable)."),
        ] = None,
        scalar: Annotated[
            bool, typer.Option("--scalar", help="Replay row by row through the guard (slow reference).")
        ] = False,
    ) -> None:
        """Audit a contact log: the guard's decision just before every attempt (审计联系记录)."""
        if not scalar and _has_text(log):  # the lexicons load while the log is read and decided
            from arrears.compliance.rules import prefetch_screen

            prefetch_screen()
        from arrears.compliance.audit import audit_columnar, audit_ndjson, audit_scalar, read_log
        from arrears.compliance.packs import load_pack

        try:
            started = time.perf_counter()
            frame = read_log(log)
            day = _as_of(as_of, frame)
            rules = load_pack(pack, _overrides(override), day)
            if as_json and not scalar:  # the same lines as write_ndjson below, encoded once per answer
                audit_ndjson(frame, rules, sys.stdout.buffer)
                sys.stdout.flush()
                return
            if scalar:
                import polars as pl

                result = pl.DataFrame(audit_scalar(frame, rules)) if frame.height else None
            else:
                result = audit_columnar(frame, rules)
            elapsed = time.perf_counter() - started
        except ArrearsError as exc:
            raise fail(exc.message) from None
        if result is None or result.height == 0:
            if not as_json:
                Console().print("no attempts in the log")
            return
        if as_json:
            result.select("id", "allowed", "rules", "reasons", "warnings").write_ndjson(sys.stdout.buffer)
            sys.stdout.flush()
            return
        _summary(result, rules, log, elapsed)

    @group.command("packs")
    def packs(
        name: Annotated[str | None, typer.Argument(help="Show one pack's rules (cn, us).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Rules in force on this date (YYYY-MM-DD).")
        ] = None,
        override: Annotated[
            list[str] | None,
            typer.Option("--override", help="Tighten a parameter: RULE.parameter=value (repeatable)."),
        ] = None,
    ) -> None:
        """List rule packs, or one pack's rules with parameters and citations (规则包)."""
        from arrears.compliance.packs import list_packs, load_pack

        try:
            day = _parse_date(as_of) if as_of else None
            names = [name] if name else list_packs()
            loaded = [load_pack(n, _overrides(override) if name else None, day) for n in names]
        except ArrearsError as exc:
            raise fail(exc.message) from None
        if as_json:
            print_json(loaded[0].to_dict() if name else [_pack_line(p) for p in loaded])
            return
        out = Console()
        if not name:
            table = Table(title="Rule packs / 规则包")
            for col in ("pack", "version", "as of", "rules", "title"):
                table.add_column(col)
            for p in loaded:
                line = _pack_line(p)
                table.add_row(
                    p.name, p.version, line["as_of"], ", ".join(line["rules"]), f"{p.title_en}\n{p.title_zh}"
                )
            out.print(table)
            return
        p = loaded[0]
        table = Table(title=f"{p.title_en} / {p.title_zh} — v{p.version}, as of {p.as_of}")
        for col in ("id", "rule", "parameters", "citation", "from"):
            table.add_column(col, overflow="fold")
        for r in p.rules:
            params = "\n".join(f"{k} = {_short(v)}" for k, v in r.parameters.items())
            cite = r.citation + ("\n[yellow]reported[/yellow]" if r.reported else "")
            table.add_row(r.id, f"{r.title_en}\n{r.title_zh}", params, cite, r.effective_from.isoformat())
        out.print(table)


def _has_text(log: Path) -> bool:
    """Whether the log's header names a text column (so message texts may need screening)."""
    try:
        with log.open(encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
    except OSError:
        return False
    return "text" in {c.strip().strip('"').strip().lower() for c in header.split(",")}


def _pack_line(p: Any) -> dict[str, Any]:
    return {
        "pack": p.name,
        "version": p.version,
        "as_of": p.as_of.isoformat(),
        "title_en": p.title_en,
        "title_zh": p.title_zh,
        "rules": list(p.rule_ids),
    }


def _short(v: Any) -> str:
    if isinstance(v, tuple):
        if v and not isinstance(v[0], str):
            return f"{len(v)} items"
        text = ", ".join(v)
        return text if len(text) <= 60 else text[:57] + "…"
    return str(v)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArrearsError(f"--as-of: {text!r} is not a date (YYYY-MM-DD)") from None


def _as_of(text: str | None, frame: Any) -> date:
    if text:
        return _parse_date(text)
    from arrears.compliance.timezones import from_us

    if frame.height == 0:
        return utc_now().date()
    return from_us(int(frame["at_us"].max())).date()


def _overrides(items: list[str] | None) -> dict[str, Any]:
    """`RULE.parameter=value` pairs; values are YAML (numbers, true/false, [lists]), HH:MM stays text."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise ArrearsError(
                f"--override {item!r}: expected RULE.parameter=value, e.g. CN-F1.max_connected_calls_per_day=2"
            )
        raw = raw.strip()
        try:
            value = raw if _HHMM.match(raw) else yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ArrearsError(f"--override {item!r}: the value is not readable") from None
        out[key.strip()] = value
    return out


def _summary(result: Any, pack: Any, log: Path, elapsed: float) -> None:
    import polars as pl

    out = Console()
    total = result.height
    blocked = result.filter(~pl.col("allowed"))
    counts = (
        blocked.select(pl.col("rules").explode().alias("rule"))
        .group_by("rule")
        .len()
        .sort("len", descending=True)
    )
    table = Table(
        title=f"{log.name}: {total} attempts, {blocked.height} would have been blocked ({elapsed:.2f} s)"
    )
    table.add_column("rule")
    table.add_column("title")
    table.add_column("attempts", justify="right")
    table.add_column("share", justify="right")
    for rule, n in counts.iter_rows():
        r = pack.get(rule)
        title = f"{r.title_en}\n{r.title_zh}" if r else rule
        table.add_row(rule, title, str(n), f"{n / total:.1%}")
    out.print(table)
    if blocked.height:
        sample = Table(title="first blocked attempts / 首批违规联系")
        sample.add_column("id")
        sample.add_column("rules")
        sample.add_column("reason")
        for row in blocked.head(20).iter_rows(named=True):
            first = row["reasons"][0] if row["reasons"] else {"en": "", "zh": ""}
            sample.add_row(str(row["id"]), ", ".join(row["rules"]), f"{first['en']}\n{first['zh']}")
        out.print(sample)
