"""`arrears model fit/score/register/list/promote` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from arrears.cli import app

from .synth import labelled_table

runner = CliRunner()


def _out(result: Result) -> str:
    """Output with Rich's line wrapping undone (long paths wrap messages at 80 columns)."""
    return " ".join(result.output.split())


def _write(df: pl.DataFrame, path: Path) -> Path:
    df.write_csv(path)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model_cli")


@pytest.fixture(scope="module")
def model_path(workdir: Path) -> Path:
    data = _write(labelled_table(2500, seed=21), workdir / "train.csv")
    out = workdir / "model.json"
    result = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--data",
            str(data),
            "--target",
            "paid",
            "--id",
            "account",
            "--out",
            str(out),
            "--seed",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["metrics"]["LightGBM calibrated"]["auc"] > 0.8
    assert summary["split_sizes"]["test"] == 500
    return out


def test_fit_writes_model_and_report_next_to_it(model_path: Path) -> None:
    assert model_path.exists()
    html = model_path.with_name("model.report.html").read_text(encoding="utf-8")
    assert "AUC" in html and "plotly" in html.lower()
    svg = ElementTree.fromstring(model_path.with_name("model.report.svg").read_text(encoding="utf-8"))
    assert svg.tag.endswith("svg") and len(svg.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 6
    report = json.loads(model_path.with_name("model.report.json").read_text(encoding="utf-8"))
    assert set(report["models"]) == {"LightGBM calibrated", "LightGBM raw", "Logistic baseline"}
    assert len(report["models"]["LightGBM calibrated"]["lift"]) == 10


def test_fit_prints_a_metrics_table(workdir: Path) -> None:
    data = _write(labelled_table(600, seed=5), workdir / "small.csv")
    result = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--data",
            str(data),
            "--target",
            "paid",
            "--id",
            "account",
            "--out",
            str(workdir / "small.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in ("AUC", "KS", "Brier", "ECE", "LightGBM calibrated", "Logistic baseline", "Lift by decile"):
        assert text in result.stdout


def test_score_round_trip_writes_exactly_id_and_score(model_path: Path, workdir: Path) -> None:
    new = labelled_table(300, seed=22).drop("paid")  # unlabelled rows to score
    data = _write(new, workdir / "new.csv")
    out = workdir / "scores.csv"
    result = runner.invoke(
        app, ["model", "score", "--model", str(model_path), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = pl.read_csv(out)
    assert scores.columns == ["id", "score"]
    assert scores["id"].to_list() == new["account"].to_list()
    assert scores["score"].is_between(0, 1).all()


def test_score_with_reasons_adds_columns(model_path: Path, workdir: Path) -> None:
    data = _write(labelled_table(100, seed=23), workdir / "r.csv")
    out = workdir / "r_scores.csv"
    result = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(model_path),
            "--data",
            str(data),
            "--out",
            str(out),
            "--reasons",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    cols = pl.read_csv(out).columns
    assert cols == ["id", "score"] + [f"reason_{i}{s}" for i in (1, 2, 3) for s in ("", "_contribution")]


def test_unseen_categories_and_missing_values_still_score(model_path: Path, workdir: Path) -> None:
    df = labelled_table(50, seed=24).with_columns(
        pl.when(pl.int_range(pl.len()) < 10)
        .then(pl.lit("wechat"))
        .otherwise(pl.col("channel"))
        .alias("channel"),
        pl.lit(None, dtype=pl.String).alias("noise"),
    )
    data = _write(df, workdir / "unseen.csv")
    out = workdir / "unseen_scores.csv"
    result = runner.invoke(
        app, ["model", "score", "--model", str(model_path), "--data", str(data), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unseen_categories"] == {"channel": 10}
    assert pl.read_csv(out).height == 50


def test_missing_column_is_a_clear_error(model_path: Path, workdir: Path) -> None:
    data = _write(labelled_table(20, seed=25).drop("has_job"), workdir / "nojob.csv")
    result = runner.invoke(
        app,
        ["model", "score", "--model", str(model_path), "--data", str(data), "--out", str(workdir / "x.csv")],
    )
    assert result.exit_code != 0
    assert "has_job" in _out(result) and "Traceback" not in _out(result)
    assert not (workdir / "x.csv").exists()


def test_bad_value_names_row_and_column(model_path: Path, workdir: Path) -> None:
    df = labelled_table(20, seed=26).with_columns(
        pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("abc")).otherwise(pl.col("x1")).alias("x1")
    )
    data = _write(df, workdir / "bad.csv")
    result = runner.invoke(
        app,
        ["model", "score", "--model", str(model_path), "--data", str(data), "--out", str(workdir / "y.csv")],
    )
    assert result.exit_code != 0
    assert "row 7" in _out(result) and "'x1'" in _out(result) and "'abc'" in _out(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "nope"], "nope"),
        (["--target", "paid", "--id", "nope"], "nope"),
        (["--target", "paid", "--test-size", "1.5"], "test size"),
        (["--target", "paid", "--calibration", "magic"], "calibration"),
    ],
)
def test_fit_argument_errors(workdir: Path, args: list[str], expected: str) -> None:
    data = _write(labelled_table(200, seed=27), workdir / "args.csv")
    result = runner.invoke(
        app, ["model", "fit", "--data", str(data), "--out", str(workdir / "a.json"), *args]
    )
    assert result.exit_code != 0
    assert expected in _out(result) and "Traceback" not in _out(result)


def test_unreadable_inputs_exit_non_zero(workdir: Path, model_path: Path) -> None:
    missing = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--data",
            str(workdir / "none.csv"),
            "--target",
            "t",
            "--out",
            str(workdir / "b.json"),
        ],
    )
    assert missing.exit_code != 0 and "not found" in _out(missing)
    empty = workdir / "empty.csv"
    empty.write_text("", encoding="utf-8")
    r = runner.invoke(
        app,
        ["model", "score", "--model", str(model_path), "--data", str(empty), "--out", str(workdir / "c.csv")],
    )
    assert r.exit_code != 0 and "empty" in _out(r)
    ragged = workdir / "ragged.csv"
    ragged.write_text("id,a,b\n1,2,3\n2,3,4,5\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(model_path),
            "--data",
            str(ragged),
            "--out",
            str(workdir / "c.csv"),
        ],
    )
    assert r.exit_code != 0 and "row 2 (line 3)" in _out(r) and "4 fields" in _out(r)
    not_model = workdir / "train.csv"
    r = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(not_model),
            "--data",
            str(not_model),
            "--out",
            str(workdir / "d.csv"),
        ],
    )
    assert r.exit_code != 0 and "not a model file" in _out(r)


def test_gb18030_file_is_read(model_path: Path, workdir: Path) -> None:
    df = labelled_table(30, seed=28).with_columns(pl.lit("张三").alias("name"))
    path = workdir / "gbk.csv"
    path.write_bytes(df.write_csv().encode("gb18030"))
    out = workdir / "gbk_scores.csv"
    result = runner.invoke(
        app, ["model", "score", "--model", str(model_path), "--data", str(path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out).height == 30


def test_time_split_from_the_cli(workdir: Path) -> None:
    data = _write(labelled_table(800, seed=29), workdir / "timed.csv")
    result = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--data",
            str(data),
            "--target",
            "paid",
            "--id",
            "account",
            "--time-col",
            "opened",
            "--out",
            str(workdir / "timed.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["split_method"] == "time"
    model = json.loads((workdir / "timed.json").read_text(encoding="utf-8"))
    assert "opened__days" not in model["feature_names"]  # the time column orders rows, it is not a feature


def test_registry_register_list_promote_and_score_live(model_path: Path, workdir: Path) -> None:
    reg = workdir / "registry"
    r1 = runner.invoke(app, ["model", "register", str(model_path), "--registry", str(reg), "--json"])
    assert r1.exit_code == 0, r1.output
    assert json.loads(r1.stdout)["version"] == "v1"
    data = _write(labelled_table(800, seed=30), workdir / "train2.csv")
    fit2 = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--data",
            str(data),
            "--target",
            "paid",
            "--id",
            "account",
            "--out",
            str(workdir / "m2.json"),
            "--register",
            "--registry",
            str(reg),
            "--json",
        ],
    )
    assert fit2.exit_code == 0, fit2.output
    assert json.loads(fit2.stdout)["registered_version"] == "v2"
    again = runner.invoke(app, ["model", "register", str(model_path), "--registry", str(reg)])
    assert again.exit_code != 0 and "already registered as v1" in _out(again)

    no_live = runner.invoke(
        app, ["model", "score", "--data", str(data), "--out", str(workdir / "s.csv"), "--registry", str(reg)]
    )
    assert no_live.exit_code != 0 and "no live model" in _out(no_live)

    assert runner.invoke(app, ["model", "promote", "v1", "--registry", str(reg)]).exit_code == 0
    assert runner.invoke(app, ["model", "promote", "v2", "--registry", str(reg)]).exit_code == 0
    bad = runner.invoke(app, ["model", "promote", "v9", "--registry", str(reg)])
    assert bad.exit_code != 0 and "v9" in _out(bad)

    listed = json.loads(runner.invoke(app, ["model", "list", "--registry", str(reg), "--json"]).stdout)
    assert listed["live"] == "v2"
    assert [(v["version"], v["live"]) for v in listed["versions"]] == [("v1", False), ("v2", True)]
    table = runner.invoke(app, ["model", "list", "--registry", str(reg)])
    assert "v1" in table.stdout and "v2" in table.stdout

    live_out = workdir / "live.csv"
    scored = runner.invoke(
        app, ["model", "score", "--data", str(data), "--out", str(live_out), "--registry", str(reg)]
    )
    assert scored.exit_code == 0, scored.output
    direct_out = workdir / "direct.csv"
    runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(workdir / "m2.json"),
            "--data",
            str(data),
            "--out",
            str(direct_out),
        ],
    )
    assert live_out.read_text() == direct_out.read_text()


def test_a_tampered_registry_version_is_refused(model_path: Path, workdir: Path) -> None:
    reg = workdir / "registry_tamper"
    assert runner.invoke(app, ["model", "register", str(model_path), "--registry", str(reg)]).exit_code == 0
    stored = reg / "v1.json"
    stored.write_text(stored.read_text(encoding="utf-8").replace('"paid"', '"paid2"', 1), encoding="utf-8")
    r = runner.invoke(app, ["model", "promote", "v1", "--registry", str(reg)])
    assert r.exit_code != 0 and "changed since it was registered" in _out(r)


def test_same_seed_gives_the_same_scores(workdir: Path) -> None:
    data = _write(labelled_table(700, seed=31), workdir / "det.csv")
    outs = []
    for name in ("d1", "d2"):
        fit = runner.invoke(
            app,
            [
                "model",
                "fit",
                "--data",
                str(data),
                "--target",
                "paid",
                "--id",
                "account",
                "--out",
                str(workdir / f"{name}.json"),
                "--seed",
                "9",
                "--json",
            ],
        )
        assert fit.exit_code == 0, fit.output
        out = workdir / f"{name}.csv"
        runner.invoke(
            app,
            [
                "model",
                "score",
                "--model",
                str(workdir / f"{name}.json"),
                "--data",
                str(data),
                "--out",
                str(out),
            ],
        )
        outs.append(out.read_text())
    assert outs[0] == outs[1]
