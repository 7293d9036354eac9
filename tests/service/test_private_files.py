"""Private files: whatever the operator's umask (even 000), casebook's archive, spool, their
SQLite side files, backups, exports and the demo sink are 0600 in 0700 folders."""

from __future__ import annotations

import os
import smtplib
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from archive.record.cases import find_case
from archive.record.db import open_archive
from archive.record.export import export_case
from archive.record.search import backup_archive
from casebook.sink import SinkHandler
from intake.spool import open_spool
from tests.support.base import ROOT, T0, ServeProcess, fixture_bytes, free_port, run_async
from tests.support.base import write_config as write_base_config
from tests.support.helpers import deliver
from tests.support.waiting import wait_until


def write_config(tmp_path: Path, **values) -> Path:
    """The test configuration, with the archive and spool in `var/`, a folder casebook creates."""
    config = write_base_config(tmp_path, **values)
    text = config.read_text()
    for name in ("casebook.db", "spool"):
        text = text.replace(f'"{tmp_path / name}"', f'"{tmp_path / "var" / name}"')
    config.write_text(text)
    return config


def casebook(config: Path, *args: str, stdin: bytes | None = None):
    """The real command, run by an operator whose umask is 000."""
    return subprocess.run(
        [sys.executable, "-m", "casebook.cli", "-c", str(config), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=60,
        umask=0,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(root: Path) -> dict[str, str]:
    """Every folder and file from `root` down, with its mode (files may vanish meanwhile)."""
    found = {}
    for path in [root, *root.rglob("*")]:
        try:
            found[str(path.relative_to(root.parent))] = oct(mode(path))
        except FileNotFoundError:
            continue
    return found


def assert_private(root: Path) -> None:
    found = modes_under(root)
    expected = {name: oct(0o700 if (root.parent / name).is_dir() else 0o600) for name in found}
    assert found == expected


def ingest_report(config: Path) -> None:
    result = casebook(
        config, "ingest", "--sender", "rita@example.net", stdin=fixture_bytes("plain_report.eml")
    )
    assert result.returncode == 0, result.stderr.decode()


def test_ingest_creates_a_private_archive_and_spool(tmp_path, relay):
    config = write_config(tmp_path, relay_port=relay.port)
    ingest_report(config)
    var = tmp_path / "var"
    assert mode(var) == 0o700 and mode(var / "spool") == 0o700
    assert mode(var / "casebook.db") == 0o600
    assert mode(var / "spool" / "spool.db") == 0o600
    assert_private(var)  # and any -wal/-shm left behind


def test_backup_and_export_are_private(tmp_path, relay):
    config = write_config(tmp_path, relay_port=relay.port)
    ingest_report(config)
    copy = tmp_path / "backups" / "2026" / "copy.db"
    result = casebook(config, "backup", str(copy))
    assert result.returncode == 0, result.stderr.decode()
    assert mode(copy) == 0o600
    assert mode(copy.parent) == 0o700 and mode(copy.parent.parent) == 0o700
    assert_private(tmp_path / "backups")
    exports = tmp_path / "exports"
    exports.mkdir(mode=0o700)
    out = exports / "case.mbox"
    result = casebook(config, "export", "CoC-2026-001", "--for", "erin@example.org",
                      "--reason", "appeal review", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert mode(out) == 0o600
    assert modes_under(exports) == {"exports": oct(0o700), "exports/case.mbox": oct(0o600)}


def test_serve_with_sink_keeps_everything_private(tmp_path):
    port = free_port()
    config = write_config(tmp_path, relay_port=free_port(), intake_port=port)
    process = ServeProcess(config, port, args=("--with-sink",), umask=0)
    process.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("rita@example.net", ["conduct@example.org"],
                          fixture_bytes("plain_report.eml"))  # fmt: skip
        kept = tmp_path / "var" / "sink" / "new"
        wait_until(
            lambda: kept.is_dir() and len(list(kept.iterdir())) >= 2,
            "the ack and the new-case notice in the sink",
            20,
            detail=process.output,
        )
        var = tmp_path / "var"
        # While serve runs, SQLite's side files exist next to both databases.
        for side in ("casebook.db-wal", "casebook.db-shm", "spool/spool.db-wal"):
            assert mode(var / side) == 0o600
        assert mode(var / "sink") == 0o700 and mode(kept) == 0o700
        assert all(mode(path) == 0o600 for path in kept.iterdir())
        assert_private(var)
    finally:
        process.stop()


def test_an_archive_left_readable_by_an_older_casebook_is_made_private(tmp_path, relay):
    config = write_config(tmp_path, relay_port=relay.port)
    ingest_report(config)
    archive = tmp_path / "var" / "casebook.db"
    spool = tmp_path / "var" / "spool" / "spool.db"
    archive.chmod(0o644)
    spool.chmod(0o644)
    result = casebook(config, "stats")
    assert result.returncode == 0, result.stderr.decode()
    assert mode(archive) == 0o600 and mode(spool) == 0o600
    warnings = [line for line in result.stderr.decode().splitlines() if "WARNING" in line]
    assert len(warnings) == 2
    assert str(archive) in warnings[0] and str(spool) in warnings[1]
    again = casebook(config, "stats")
    assert "WARNING" not in again.stderr.decode()


@pytest.fixture
def umask_000():
    old = os.umask(0)
    yield
    os.umask(old)


def test_the_functions_make_private_files_themselves(tmp_path, umask_000, settings):
    """No CLI (and so no umask set at its start): each function creates its files private."""
    data = tmp_path / "data"
    db = open_archive(data / "archive" / "casebook.db")
    spool = open_spool(data / "spool" / "spool.db")
    try:
        deliver(db, settings, "plain_report.eml", now=T0)  # spools in settings.spool
        spool.execute("CREATE TABLE filler (x)")  # a write: the -wal exists while it is open
        assert mode(data / "archive" / "casebook.db-wal") == 0o600
        assert mode(data / "archive" / "casebook.db-shm") == 0o600
        assert mode(data / "spool" / "spool.db-wal") == 0o600
        assert_private(data)
        assert_private(settings.spool)
        backup_archive(db, tmp_path / "backups" / "copy.db")
        assert_private(tmp_path / "backups")
        (tmp_path / "exports").mkdir(mode=0o700)
        export_case(db, find_case(db, "CoC-2026-001"), settings, requester="erin@example.org",
                    reason="appeal", target=tmp_path / "exports" / "case.mbox", now=T0)  # fmt: skip
        assert_private(tmp_path / "exports")
    finally:
        db.close()
        spool.close()
    handler = SinkHandler(tmp_path / "demo" / "sink", echo=lambda line: None)
    envelope = SimpleNamespace(original_content=b"Subject: hi\r\n\r\nhello\r\n", rcpt_tos=["a@b"])
    assert run_async(handler.handle_DATA(None, None, envelope)).startswith("250")
    assert len(list((tmp_path / "demo" / "sink" / "new").iterdir())) == 1
    assert_private(tmp_path / "demo")
