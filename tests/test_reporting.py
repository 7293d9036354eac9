"""The quarterly report and annual summary: anonymised counts and median times."""

from __future__ import annotations

from datetime import timedelta

from archive.db import open_archive
from archive.reporting import quarter_period, render_markdown, report_data, year_period
from mailer.send import send_due
from tests.committee import BOB, CAROL, Committee, dkim_settings
from tests.conftest import T0
from tests.test_cli import assert_clean_error, casebook


def test_quarter_with_an_enacted_reprimand(tmp_path, relay):
    settings = dkim_settings(tmp_path, relay_port=relay.port)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.report("checklist_report.eml", sender="chris@example.net")
    send_due(db, settings, T0 + timedelta(minutes=3), holder="t",
             wall_clock=lambda: T0 + timedelta(minutes=3))  # fmt: skip
    c.say(
        "#responsible Dave <dave@example.com>\n#propose private-reprimand\n"
        "Statement: Stop.\nEnd of statement"
    )
    c.say("#agree", sender=BOB)
    c.say("#agree", sender=CAROL)
    c.say("#consult")
    c.say("#enact", now=T0 + timedelta(days=6))
    data = report_data(db, quarter_period("2026Q1", settings))
    assert data["opened"] == 2
    assert data["states"] == {"acknowledged": 1, "resolved": 1}
    assert data["resolutions"] == {"private-reprimand": 1}
    assert data["median_hours_to_acknowledge"] == 0.05  # three minutes
    assert data["median_days_to_resolve"] == 6.0
    text = render_markdown(data, "Quarterly report")
    assert "| private-reprimand | 1 |" in text and "3 minutes" in text
    for secret in ("CoC-2026", "rita", "Dave", "Rita"):
        assert secret not in text
    assert report_data(db, quarter_period("2026Q2", settings))["opened"] == 0
    assert report_data(db, year_period("2026", settings))["opened"] == 2


def test_report_cli_and_its_errors(config_path, db):
    result = casebook("-c", str(config_path), "report", "--year", "2026")
    assert result.returncode == 0 and b"# Annual transparency summary: 2026" in result.stdout
    assert_clean_error(casebook("-c", str(config_path), "report", "--quarter", "2026Q5"), 64,
                       "is not a quarter")  # fmt: skip
