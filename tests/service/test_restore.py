"""Backup, a fresh spool, restore: no message is taken for one the archive already holds."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid

import pytest
from sqlite_utils import Database

from archive.record.db import open_archive
from archive.record.schema import migrations
from intake.process import process_spooled
from intake.spool import Arrival, count_spooled, open_spool, spool_arrivals, spool_path
from tests.service.test_cli import assert_clean_error, casebook
from tests.support.base import T0, fixture_bytes, write_config


def report(n: int) -> bytes:
    return (
        f"From: Reporter {n} <reporter{n}@example.net>\r\nTo: conduct@example.org\r\n"
        f"Subject: Report number {n}\r\nMessage-ID: <restore-{n}@example.net>\r\n\r\n"
        f"Someone was rude to me on the forum yesterday ({n}).\r\n"
    ).encode()


def ingest(config, raw: bytes, sender: str) -> None:
    result = casebook("-c", str(config), "ingest", "--sender", sender, stdin=raw)
    assert result.returncode == 0, result.stderr.decode()


def case_ids(config) -> list[str]:
    result = casebook("-c", str(config), "cases", "--json")
    assert result.returncode == 0, result.stderr.decode()
    return [case["id"] for case in json.loads(result.stdout)]


def lose_the_machine(tmp_path) -> None:
    """The archive and the spool are gone (a new machine); only the backup is left."""
    for path in tmp_path.glob("casebook.db*"):
        path.unlink()
    shutil.rmtree(tmp_path / "spool")


def test_ingest_after_a_restore_beside_a_fresh_spool_becomes_a_case(tmp_path, config_path):
    ingest(config_path, fixture_bytes("plain_report.eml"), "rita@example.net")
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(config_path), "backup", str(backup)).returncode == 0
    lose_the_machine(tmp_path)
    shutil.copyfile(backup, tmp_path / "casebook.db")  # restored by hand, as before `restore`

    # The fresh spool numbers its first row 1 again, as the restored archive's first delivery.
    ingest(config_path, report(2), "reporter2@example.net")

    assert case_ids(config_path) == ["CoC-2026-001", "CoC-2026-002"]
    db = sqlite3.connect(tmp_path / "casebook.db")
    [(kind,)] = db.execute(
        "SELECT kind FROM messages WHERE message_id = '<restore-2@example.net>'"
    ).fetchall()
    assert kind == "report"


def test_rows_spooled_before_delivery_keys_are_still_ingested_exactly_once(settings):
    # An archive and a spool from before the keys: row 1 was ingested but the crash came
    # before the spool released it; row 2 was never ingested.
    old = Database(sqlite3.connect(settings.database))
    migrations.apply(old, stop_before="m008_delivery_keys")
    old.execute(
        "INSERT INTO deliveries (spool_id, received_at, transport, envelope_from, envelope_to,"
        " size, sha256, status, processed_at)"
        " VALUES (1, ?, 'smtp', '', '[]', 0, '', 'processed', ?)",
        [T0.isoformat(), T0.isoformat()],
    )
    old.conn.commit()
    old.close()
    path = spool_path(settings)
    path.parent.mkdir(parents=True)
    spool = sqlite3.connect(path)
    spool.execute(
        "CREATE TABLE spooled (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL,"
        " transport TEXT NOT NULL, envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
        " raw BLOB NOT NULL)"
    )
    for n in (1, 2):
        spool.execute(
            "INSERT INTO spooled (received_at, transport, envelope_from, envelope_to, raw)"
            " VALUES (?, 'smtp', ?, '[\"conduct@example.org\"]', ?)",
            [T0.isoformat(), f"reporter{n}@example.net", report(n)],
        )
    spool.commit()
    spool.close()

    db = open_archive(settings.database)
    spool = open_spool(path)
    results = process_spooled(db, spool, settings, lambda: T0)

    assert [r.case_ref for r in results] == ["CoC-2026-001"]
    assert db.execute("SELECT subject FROM messages").fetchall() == [("Report number 2",)]
    assert count_spooled(spool) == 0
    spool_arrivals(spool, [Arrival(report(3), "reporter3@example.net",
                                   ("conduct@example.org",), "smtp", T0)])  # fmt: skip
    [key] = spool.execute("SELECT delivery_key FROM spooled").fetchone()
    assert str(uuid.UUID(key)) == key


def test_restore_puts_the_backup_in_place_and_keeps_the_old_archive(tmp_path, config_path):
    ingest(config_path, report(1), "reporter1@example.net")
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(config_path), "backup", str(backup)).returncode == 0
    ingest(config_path, report(9), "reporter9@example.net")  # after the backup: not in it
    shutil.rmtree(tmp_path / "spool")  # the spool starts afresh, its row ids at 1 again

    restored = casebook("-c", str(config_path), "restore", str(backup))

    assert restored.returncode == 0, restored.stderr.decode()
    [line] = restored.stdout.decode().splitlines()
    assert line.startswith(f"archive restored from {backup}; the previous archive is kept as")
    [aside] = tmp_path.glob("casebook.db.before-restore-*")
    assert str(aside) in line
    assert (tmp_path / "casebook.db").stat().st_mode & 0o777 == 0o600
    assert case_ids(config_path) == ["CoC-2026-001"]
    assert sqlite3.connect(aside).execute("SELECT COUNT(*) FROM cases").fetchone() == (2,)
    ingest(config_path, report(2), "reporter2@example.net")
    assert case_ids(config_path) == ["CoC-2026-001", "CoC-2026-002"]
    stats = json.loads(casebook("-c", str(config_path), "stats", "--json").stdout)
    assert stats["spooled"] == 0


def test_after_a_restore_the_spool_gives_the_archive_only_what_it_lacks(
    tmp_path, config_path, settings, monkeypatch
):
    # Report 1 reached the archive, but the spool never released it (a crash in between).
    db = open_archive(settings.database)
    spool = open_spool(spool_path(settings))
    spool_arrivals(spool, [Arrival(report(1), "reporter1@example.net",
                                   ("conduct@example.org",), "smtp", T0)])  # fmt: skip
    monkeypatch.setattr("intake.process.release_spooled", lambda *args: None)
    assert len(process_spooled(db, spool, settings, lambda: T0)) == 1
    db.close()
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(config_path), "backup", str(backup)).returncode == 0
    spool_arrivals(spool, [Arrival(report(2), "reporter2@example.net",
                                   ("conduct@example.org",), "smtp", T0)])  # fmt: skip
    spool.close()
    (tmp_path / "casebook.db").unlink()  # the archive is lost; the spool survived

    restored = casebook("-c", str(config_path), "restore", str(backup))
    assert restored.returncode == 0, restored.stderr.decode()
    assert "2 spooled message(s)" in restored.stdout.decode()
    tick = casebook("-c", str(config_path), "tick")

    assert "processed 1 message(s)" in tick.stdout.decode(), tick.stderr.decode()
    assert case_ids(config_path) == ["CoC-2026-001", "CoC-2026-002"]
    archive = sqlite3.connect(tmp_path / "casebook.db")
    assert archive.execute("SELECT COUNT(*) FROM deliveries").fetchone() == (2,)
    assert count_spooled(open_spool(spool_path(settings))) == 0


def test_restore_refuses_while_serve_runs(serve, tmp_path):
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(serve.config), "backup", str(backup)).returncode == 0
    before = (tmp_path / "casebook.db").stat().st_ino

    refused = casebook("-c", str(serve.config), "restore", str(backup))

    assert_clean_error(refused, 75, "casebook is running")
    assert (tmp_path / "casebook.db").stat().st_ino == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_refuses_what_is_not_a_casebook_archive(tmp_path, config_path):
    ingest(config_path, report(1), "reporter1@example.net")
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    for path, code, why in [
        (text, 65, "not a casebook archive"),
        (other, 65, "not a casebook archive"),
        (tmp_path / "missing.db", 66, "no such file"),
    ]:
        assert_clean_error(casebook("-c", str(config_path), "restore", str(path)), code, why)
    assert case_ids(config_path) == ["CoC-2026-001"]
    assert not list(tmp_path.glob("*.before-restore-*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another user")
def test_restore_as_root_keeps_the_owner_and_mode_of_the_archive_it_replaces(tmp_path, config_path):
    ingest(config_path, report(1), "reporter1@example.net")
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(config_path), "backup", str(backup)).returncode == 0
    service_user = (54321, 54322)  # the archive belongs to the service's user, as in /var/lib
    for path in [tmp_path / "casebook.db", tmp_path / "casebook.db.lock"]:
        os.chown(path, *service_user)
    (tmp_path / "casebook.db").chmod(0o640)

    restored = casebook("-c", str(config_path), "restore", str(backup))

    assert restored.returncode == 0, restored.stderr.decode()
    archive = (tmp_path / "casebook.db").stat()
    assert (archive.st_uid, archive.st_gid, archive.st_mode & 0o777) == (*service_user, 0o640)
    lock = (tmp_path / "casebook.db.lock").stat()
    assert (lock.st_uid, lock.st_gid) == service_user
    assert not list(tmp_path.glob("casebook.db-*"))  # no root-owned WAL beside it either


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another user")
def test_restore_as_root_of_a_missing_archive_gives_it_to_the_folders_owner(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    config = write_config(source)
    ingest(config, report(1), "reporter1@example.net")
    backup = tmp_path / "backup.db"
    assert casebook("-c", str(config), "backup", str(backup)).returncode == 0
    state = tmp_path / "state"  # a new machine: StateDirectory= made the folder, nothing else
    state.mkdir(mode=0o700)
    os.chown(state, 54321, 54322)
    config = write_config(state)

    restored = casebook("-c", str(config), "restore", str(backup))

    assert restored.returncode == 0, restored.stderr.decode()
    for name in ("casebook.db", "casebook.db.lock"):
        found = (state / name).stat()
        assert (found.st_uid, found.st_gid) == (54321, 54322), name
    assert (state / "casebook.db").stat().st_mode & 0o777 == 0o600
