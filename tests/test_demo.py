"""`arrears demo --no-serve` works on an empty directory with the embedded database and no services."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from arrears.cli import app


def test_demo_builds_a_working_system(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARREARS_KEY_FILE", str(tmp_path / "keys" / "demo.key"))
    from arrears.core.settings import get_settings

    get_settings.cache_clear()
    db = f"sqlite:///{tmp_path / 'arrears.db'}"
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db, "demo", "--no-serve", "--accounts", "120"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "demo-data" / "placements.csv").exists()
    assert (tmp_path / "keys" / "demo.key").exists()
    shown = runner.invoke(app, ["--db", db, "batch", "run", "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert summary["accounts"] > 0 and summary["accrued_accounts"] == 0  # same day again: nothing new
    # Running the demo again updates rather than duplicates.
    again = runner.invoke(app, ["--db", db, "demo", "--no-serve", "--accounts", "120"])
    assert again.exit_code == 0, (again.output, repr(again.exception))
    # Everything above ran in one process: the database file must still be sound.
    import sqlite3

    con = sqlite3.connect(tmp_path / "arrears.db")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    get_settings.cache_clear()
