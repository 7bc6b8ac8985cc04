"""`arrears screen FILE` — screen JSON-lines texts (messages, templates, transcripts) for forbidden conduct.

Input: one JSON object per line, `{"id": ..., "text": "..."}`, optionally with "channel" and
"language". FILE may be `-` for standard input. Every line is validated before anything is
screened: a malformed line stops the run with its line number and reason (exit 1) and
nothing is printed for the file. Blank lines are skipped.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears.core.cli_support import fail, print_json
from arrears.core.errors import ValidationFailed

_MAX_REPORTED = 10


@dataclass(frozen=True)
class _Item:
    id: Any
    text: str
    channel: str | None
    language: str | None


def _read_bytes(file: str) -> bytes:
    if file == "-":
        return typer.get_binary_stream("stdin").read()
    path = Path(file)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"cannot read {file}: {exc.strerror or exc}") from exc


def _parse(data: bytes, source: str) -> tuple[list[_Item], list[str]]:
    from arrears.compliance.screening import check_channel, check_language

    items: list[_Item] = []
    errors: list[str] = []
    for lineno, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{source} line {lineno}: not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{source} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{source} line {lineno}: expected a JSON object, got {type(obj).__name__}")
            continue
        ident = obj.get("id")
        if "id" not in obj or isinstance(ident, bool) or not isinstance(ident, (str, int)):
            errors.append(f"{source} line {lineno}: field 'id' is missing or not a string or integer")
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            errors.append(f"{source} line {lineno}: field 'text' is missing or not a string")
            continue
        try:
            channel = check_channel(obj.get("channel"))
            language = check_language(obj.get("language"))
        except ValidationFailed as exc:
            errors.append(f"{source} line {lineno}: {exc.message}")
            continue
        items.append(_Item(ident, text, channel, language))
    return items, errors


def register(app: typer.Typer) -> None:
    @app.command("screen")
    def screen(
        file: Annotated[
            str, typer.Argument(help="JSON lines {id, text[, channel, language]}; '-' for stdin.")
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON result per line.")] = False,
        channel: Annotated[
            str | None, typer.Option("--channel", help="Channel for every line (sms, email, voicemail, …).")
        ] = None,
        pack: Annotated[
            str | None, typer.Option("--pack", help="Rule pack: cn or us (default: by language).")
        ] = None,
    ) -> None:
        """Screen texts for threats, abuse, impersonation, disclosure and the rest (CN-C1, US-C1/C2/P2, US-E1/E2)."""
        from arrears.compliance.screening import Screener, check_channel, check_pack

        try:
            default_channel = check_channel(channel)
            pack_id = check_pack(pack)
            source = "stdin" if file == "-" else file
            items, errors = _parse(_read_bytes(file), source)
        except ValidationFailed as exc:
            raise fail(exc.message) from None
        if errors:
            for message in errors[:_MAX_REPORTED]:
                typer.echo(f"error: {message}", err=True)
            if len(errors) > _MAX_REPORTED:
                typer.echo(f"error: … and {len(errors) - _MAX_REPORTED} more malformed lines", err=True)
            raise typer.Exit(1)

        screener = Screener.default()
        results = [
            (
                item,
                screener.screen(
                    item.text,
                    language=item.language,
                    channel=item.channel or default_channel,
                    pack=pack_id,
                ),
            )
            for item in items
        ]
        if as_json:
            for item, result in results:
                print_json(
                    {
                        "id": item.id,
                        "verdict": result.verdict,
                        "flags": [
                            {
                                "category": f.category,
                                "start": f.start,
                                "end": f.end,
                                "match": f.match,
                                "rule": f.rule,
                            }
                            for f in result.flags
                        ],
                    }
                )
            return
        out = Console(file=sys.stdout)
        table = Table(title=f"Screening {source}")
        table.add_column("id")
        table.add_column("verdict")
        table.add_column("flags")
        colour = {"pass": "green", "review": "yellow", "block": "red"}
        for item, result in results:
            flags = "\n".join(
                escape(f"{f.category} [{f.start}:{f.end}] {f.match!r} {f.rule}") for f in result.flags
            )
            table.add_row(
                escape(str(item.id)), f"[{colour[result.verdict]}]{result.verdict}[/]", flags or "—"
            )
        out.print(table)
        counts = {v: sum(1 for _, r in results if r.verdict == v) for v in ("pass", "review", "block")}
        out.print(
            f"{len(results)} texts: {counts['pass']} pass, {counts['review']} review, {counts['block']} block"
        )
