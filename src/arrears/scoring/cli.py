"""`arrears model …` — fit, score, and keep versions of propensity models (R9)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears.core.cli_support import console, fail, print_json
from arrears.core.errors import ArrearsError

RegistryOpt = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar="ARREARS_MODEL_REGISTRY",
        help="Model registry directory (versions and the live model).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of tables.")]

_METRIC_HEADERS = (
    ("auc", "AUC"),
    ("ks", "KS"),
    ("brier", "Brier"),
    ("ece", "ECE 校准误差"),
    ("log_loss", "Log loss"),
)


def _fail(message: str) -> typer.Exit:
    # messages quote user data (cell values, file names): never let Rich read them as markup
    return fail(escape(message))


def register(app: typer.Typer) -> None:
    model = typer.Typer(help="Propensity models: fit, score, versions (模型).", no_args_is_help=True)
    app.add_typer(model, name="model")

    @model.command("fit")
    def fit_cmd(
        data: Annotated[Path, typer.Option("--data", help="Labelled CSV table (UTF-8 or GB18030).")],
        target: Annotated[str, typer.Option("--target", help="The 0/1 label column.")],
        out: Annotated[Path, typer.Option("--out", help="Model file to write (JSON).")],
        id_column: Annotated[
            str | None, typer.Option("--id", help="Row identifier column (not a feature).")
        ] = None,
        time_col: Annotated[
            str | None,
            typer.Option("--time-col", help="Split by this date/number column: newest rows are the test."),
        ] = None,
        test_size: Annotated[
            float, typer.Option("--test-size", help="Share of rows held out for the report.")
        ] = 0.2,
        seed: Annotated[int, typer.Option("--seed", help="Seed for splits and boosting.")] = 0,
        calibration: Annotated[
            str,
            typer.Option("--calibration", help="auto | platt | isotonic | none (auto: chosen by CV Brier)."),
        ] = "auto",
        categorical: Annotated[
            list[str] | None,
            typer.Option("--categorical", help="Treat this column as categorical (repeatable)."),
        ] = None,
        register_model: Annotated[
            bool, typer.Option("--register", help="Also add the model to the registry as a new version.")
        ] = False,
        registry: RegistryOpt = Path("models"),
        as_json: JsonOpt = False,
    ) -> None:
        """Train LightGBM (early stopping, calibration) and a logistic baseline; report held-out metrics."""
        from arrears.scoring import service
        from arrears.scoring.training import CALIBRATION_METHODS, FitOptions  # lightgbm loads only when used

        if calibration not in CALIBRATION_METHODS:
            raise _fail(f"--calibration must be one of {', '.join(CALIBRATION_METHODS)}, not {calibration!r}")
        try:
            opts = FitOptions(test_size=test_size, seed=seed, calibration=calibration)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        try:
            with (
                console.status("training …")
                if console.is_terminal and not as_json
                else contextlib.nullcontext()
            ):
                result, html_path, json_path = service.fit_csv(
                    data,
                    out,
                    target=target,
                    id_column=id_column,
                    time_column=time_col,
                    categorical=categorical or (),
                    options=opts,
                )
            entry = service.ModelRegistry(registry).register(out) if register_model else None
        except ArrearsError as exc:
            raise _fail(exc.message) from None

        training = result.model.meta["training"]
        if as_json:
            print_json(
                {
                    "model": str(out),
                    "report_html": str(html_path),
                    "report_json": str(json_path),
                    "registered_version": entry.version if entry else None,
                    "metrics": result.summary(),
                    "lift": result.report["models"][service.MODEL_LABELS[0]]["lift"],
                    "calibration": result.model.calibrator.to_dict() | {"knots_x": None, "knots_y": None},
                    "split_method": training["split_method"],
                    "split_sizes": training["split_sizes"],
                    "best_iteration": training["best_iteration"],
                    "dropped_columns": result.model.spec.dropped,
                    "timings": result.timings,
                }
            )
            return
        out_console = Console()
        table = Table(
            title=f"Held-out metrics 留出集指标 ({training['split_method']} split, "
            f"{training['split_sizes']['test']} test rows)"
        )
        table.add_column("model")
        for _, header in _METRIC_HEADERS:
            table.add_column(header, justify="right")
        for name, m in result.summary().items():
            table.add_row(name, *(f"{m[k]:.4f}" for k, _ in _METRIC_HEADERS))
        out_console.print(table)
        lift = result.report["models"][service.MODEL_LABELS[0]]["lift"]
        if lift:
            lt = Table(title="Lift by decile 十分位提升 (LightGBM calibrated)")
            for col in ("decile", "rows", "events", "event rate", "lift", "cum. capture"):
                lt.add_column(col, justify="right")
            for r in lift:
                lt.add_row(
                    str(r["group"]),
                    str(r["count"]),
                    str(r["events"]),
                    f"{r['event_rate']:.3f}",
                    f"{r['lift']:.2f}",
                    f"{r['cumulative_capture']:.3f}",
                )
            out_console.print(lt)
        cal = result.model.calibrator
        out_console.print(
            f"calibration: {cal.method}" + (f" (5-fold CV Brier: {cal.cv_brier})" if cal.cv_brier else "")
        )
        if result.model.spec.dropped:
            out_console.print(escape(f"not used as features: {result.model.spec.dropped}"))
        out_console.print(escape(f"model: {out}\nreport: {html_path}"))
        if entry:
            out_console.print(escape(f"registered as {entry.version} in {registry}"))

    @model.command("score")
    def score_cmd(
        data: Annotated[Path, typer.Option("--data", help="CSV table to score.")],
        out: Annotated[Path, typer.Option("--out", help="CSV to write: id,score[,reasons].")],
        model_path: Annotated[
            Path | None, typer.Option("--model", help="Model file; default: the registry's live model.")
        ] = None,
        reasons: Annotated[
            int, typer.Option("--reasons", min=0, help="Add the top K contributing features per row.")
        ] = 0,
        id_column: Annotated[
            str | None,
            typer.Option("--id", help="Identifier column (default: the one the model was fit with)."),
        ] = None,
        registry: RegistryOpt = Path("models"),
        as_json: JsonOpt = False,
    ) -> None:
        """Write `id,score` — score = calibrated probability of the positive class."""
        from arrears.scoring import service
        from arrears.scoring.model_io import load_model

        try:
            model = load_model(model_path) if model_path else service.ModelRegistry(registry).load()
            result = service.score_csv(model, data, out, reasons=reasons, id_column=id_column)
        except ArrearsError as exc:
            raise _fail(exc.message) from None
        unseen = result.encode.unseen_categories
        if as_json:
            print_json({"rows": result.rows, "out": str(out), "unseen_categories": unseen})
            return
        for col, n in unseen.items():
            console.print(
                f"[yellow]note:[/yellow] {n} value(s) of {escape(repr(col))} were not seen in training "
                "(scored as the 'other'/missing category)",
                highlight=False,
            )
        console.print(escape(f"scored {result.rows} rows → {out}"), highlight=False)

    @model.command("register")
    def register_cmd(
        path: Annotated[Path, typer.Argument(help="A model file written by `arrears model fit`.")],
        note: Annotated[str | None, typer.Option("--note", help="Free text kept with the version.")] = None,
        registry: RegistryOpt = Path("models"),
        as_json: JsonOpt = False,
    ) -> None:
        """Add a model file to the registry as the next version (not live until promoted)."""
        from arrears.scoring import service

        try:
            entry = service.ModelRegistry(registry).register(path, note=note)
        except ArrearsError as exc:
            raise _fail(exc.message) from None
        if as_json:
            print_json(entry.__dict__)
        else:
            console.print(escape(f"registered {path} as {entry.version}"), highlight=False)

    @model.command("list")
    def list_cmd(registry: RegistryOpt = Path("models"), as_json: JsonOpt = False) -> None:
        """Registered versions; the live one is marked."""
        from arrears.scoring import service

        reg = service.ModelRegistry(registry)
        try:
            entries = reg.entries()
            live = reg.live_version()
        except ArrearsError as exc:
            raise _fail(exc.message) from None
        if as_json:
            print_json(
                {"live": live, "versions": [e.__dict__ | {"live": e.version == live} for e in entries]}
            )
            return
        table = Table(title=f"Models in {registry}")
        for col in ("version", "live", "target", "AUC", "created", "registered", "note"):
            table.add_column(col)
        for e in entries:
            table.add_row(
                e.version,
                "●" if e.version == live else "",
                escape(e.target),
                f"{e.auc:.4f}" if e.auc is not None else "",
                e.created_at,
                e.registered_at,
                escape(e.note or ""),
            )
        Console().print(table)

    @model.command("promote")
    def promote_cmd(
        version: Annotated[str, typer.Argument(help="Version to make live, e.g. v3.")],
        registry: RegistryOpt = Path("models"),
        as_json: JsonOpt = False,
    ) -> None:
        """Make VERSION the one live model (the previous live one stays registered)."""
        from arrears.scoring import service

        try:
            entry = service.ModelRegistry(registry).promote(version)
        except ArrearsError as exc:
            raise _fail(exc.message) from None
        if as_json:
            print_json({"live": entry.version})
        else:
            console.print(f"{entry.version} is now the live model", highlight=False)
