"""`arrears qc …` (automatic quality inspection) and `arrears complaints …` (complaint triage).

Both read JSON lines. Every line is read and checked before anything is printed: a bad line is
reported with its number, field and reason, and the command exits 1 with no partial output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from arrears.core.cli_support import console, fail, print_json
from arrears.core.errors import ArrearsError

qc_app = typer.Typer(
    help="Quality inspection (质检): scorecards and automatic scoring.", no_args_is_help=True
)
complaints_app = typer.Typer(
    help="Complaints (投诉): triage by category and alleged misconduct.", no_args_is_help=True
)

T = TypeVar("T")
MAX_REPORTED_ERRORS = 20


def _lines(file: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines of FILE ('-' reads standard input)."""
    import sys

    if file == "-":
        stream: Any = sys.stdin
    else:
        path = Path(file)
        try:
            stream = path.open(encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        for n, line in enumerate(stream, 1):
            if line.strip():
                yield n, line
    except UnicodeDecodeError as exc:
        raise fail(f"{file}: not UTF-8 text ({exc.reason})") from exc
    finally:
        if stream is not sys.stdin:
            stream.close()


def read_json_lines(file: str, parse: Callable[[int, Any], T]) -> list[T]:
    """Every line decoded and parsed; on any bad line, all errors (up to 20) reported and exit 1."""
    out: list[T] = []
    errors: list[str] = []
    count = 0
    for n, line in _lines(file):
        count += 1
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            out.append(parse(n, raw))
        except (ValueError, ArrearsError) as exc:
            message = exc.message if isinstance(exc, ArrearsError) else str(exc)
            errors.append(f"line {n}: {message}")
    if errors:
        for e in errors[:MAX_REPORTED_ERRORS]:
            console.print(f"[red]error:[/red] {escape(e)}", highlight=False, soft_wrap=True)
        if len(errors) > MAX_REPORTED_ERRORS:
            console.print(f"… and {len(errors) - MAX_REPORTED_ERRORS} more bad lines")
        raise typer.Exit(1)
    if count == 0:
        raise fail(f"{file}: no input lines")
    return out


@qc_app.command("score")
def qc_score(
    file: Annotated[str, typer.Argument(help="JSON lines of interactions ('-' for standard input).")],
    scorecard: Annotated[
        str | None,
        typer.Option(
            "--scorecard",
            help="default-zh, default-en, default-us, NAME@VERSION or a scorecard file; "
            "omitted: chosen from each interaction's language.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per interaction.")] = False,
    features: Annotated[bool, typer.Option(help="Include conversation features in the JSON.")] = True,
    debtor_conduct: Annotated[
        bool,
        typer.Option("--debtor-conduct", help="Also screen the debtor's turns (abuse toward the collector)."),
    ] = False,
) -> None:
    """Score every interaction automatically: each item decided with evidence and a confidence."""
    from arrears.quality.autoscore import compile_scorecard, score_interaction
    from arrears.quality.conversation import InteractionError, parse_interaction, primary_language
    from arrears.quality.scorecards import default_scorecard_for, load_scorecard

    fixed = load_scorecard(scorecard) if scorecard else None

    def parse(n: int, raw: Any) -> tuple[Any, Any]:
        try:
            interaction = parse_interaction(raw)
        except InteractionError as exc:
            raise ValueError(f"{exc.field}: {exc.reason}") from exc
        card = fixed or load_scorecard(default_scorecard_for(interaction.language))
        if primary_language(card.language) != interaction.primary_language:
            raise ValueError(
                f"language: {interaction.language} does not match scorecard {card.ref} ({card.language})"
            )
        return interaction, card

    rows = read_json_lines(file, parse)
    screener = None
    if any(it.check == "conduct" for _, card in rows for it in card.items):
        from arrears.quality.autoscore import default_screener

        screener = default_screener()
    results = [
        score_interaction(i, compile_scorecard(card), screener=screener, debtor_conduct=debtor_conduct)
        for i, card in rows
    ]
    if as_json:
        for r in results:
            print_json(r.to_dict(features=features))
        return
    for r in results:
        status = "FATAL" if r.fatal else ("pass" if r.meets_standard else "below standard")
        failed = ", ".join(r.failed) or "—"
        pending = f"  pending: {', '.join(r.pending)}" if r.pending else ""
        typer.echo(f"{r.id}\t{r.score:5.1f}\t{status}\t{r.scorecard}\tfailed: {failed}{pending}")
    fatal = sum(r.fatal for r in results)
    mean = sum(r.score for r in results) / len(results)
    typer.echo(f"{len(results)} interactions, mean score {mean:.1f}, {fatal} with a fatal finding")


@qc_app.command("scorecard")
def qc_scorecard(
    name: Annotated[str, typer.Argument(help="A built-in scorecard (NAME or NAME@VERSION) or a file.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a scorecard (items, weights, fatal items, citations) — or list the built-in ones."""  # R26
    from arrears.quality.scorecards import builtin_scorecards, load_scorecard

    if not name:
        available = builtin_scorecards()
        if as_json:
            print_json(available)
        else:
            for n, versions in available.items():
                typer.echo(f"{n}\tversions {', '.join(map(str, versions))}")
        return
    card = load_scorecard(name)
    if as_json:
        print_json(
            {
                "name": card.name,
                "version": card.version,
                "language": card.language,
                "title": card.title,
                "pass_mark": card.pass_mark,
                "effective": card.effective,
                "fingerprint": card.fingerprint,
                "items": [
                    {
                        "id": i.id,
                        "title": i.title,
                        "weight": i.weight,
                        "fatal": i.fatal,
                        "mode": i.mode,
                        "check": i.check,
                        "cite": i.cite,
                    }
                    for i in card.items
                ],
            }
        )
        return
    typer.echo(f"{card.title} — {card.ref} ({card.language}), pass mark {card.pass_mark:g}")
    for i in card.items:
        kind = "FATAL" if i.fatal else f"{i.weight:g}"
        typer.echo(f"  {i.id:<26}{kind:>6}  {i.mode:<6}  {i.title}  [{i.cite}]")


@complaints_app.command("classify")
def complaints_classify(
    file: Annotated[str, typer.Argument(help="JSON lines {id, text} ('-' for standard input).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per complaint.")] = False,
    explain: Annotated[bool, typer.Option(help="Include the matched cues in the JSON.")] = False,
) -> None:
    """Triage complaints: category, whether they allege collector misconduct, and a confidence."""
    from arrears.quality.complaints import classify_complaint, load_classifier

    classifier = load_classifier()

    def parse(n: int, raw: Any) -> tuple[str, str]:
        if not isinstance(raw, dict):
            raise ValueError("must be a JSON object with id and text")
        ident = raw.get("id")
        if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
            raise ValueError("id: must be a non-empty string or integer")
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: must be a non-empty string")
        return str(ident), text

    rows = read_json_lines(file, parse)
    for ident, text in rows:
        t = classify_complaint(text, classifier)
        if as_json:
            d: dict[str, Any] = {
                "id": ident,
                "category": t.category,
                "conduct": t.conduct,
                "confidence": round(t.confidence, 2),
            }
            if explain:
                d["scores"] = {k: round(v, 2) for k, v in t.scores.items() if v}
                d["cues"] = [c.to_dict() for c in t.cues]
            print_json(d)
        else:
            flag = "conduct" if t.conduct else "-"
            typer.echo(f"{ident}\t{t.category}\t{flag}\t{t.confidence:.2f}")


def register(app: typer.Typer) -> None:
    app.add_typer(qc_app, name="qc")
    app.add_typer(complaints_app, name="complaints")
