"""Importing the list's past mail: threaded, idempotent, resumable, sends nothing."""

from __future__ import annotations

import mailbox

import pytest

from archive.record.queries import archive_stats
from intake.importer import import_paths, iter_mbox, not_mail
from tests.service.test_cli import casebook
from tests.support.base import CORPUS, T0, fixture_bytes


def make_mbox(path, raws):
    with open(path, "wb") as handle:
        for raw in raws:
            body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            handle.write(b"From sender@example.net Mon Mar  2 10:00:00 2026\n" + body + b"\n\n")


def test_mbox_import_is_threaded_idempotent_and_sends_nothing(tmp_path, db, settings):
    raws = [fixture_bytes(n) for n in ("plain_report.eml", "checklist_report.eml")]
    raws.append(b"From: a@example.net\nSubject: x\nMessage-ID: <esc@x>\n\nline\nFrom here on\n")
    mbox = tmp_path / "list.mbox"
    make_mbox(mbox, raws)
    report = import_paths(db, settings, [mbox], T0)
    assert (report.read, report.new) == (3, 3)
    stats = archive_stats(db)
    assert stats["list_messages"] == 3 and stats["outbox"] == {} and stats["deadlines"] == 0
    row = db.execute("SELECT raw FROM messages WHERE message_id = '<esc@x>'").fetchone()
    assert b"\nFrom here on\n" in row[0]  # mboxrd quoting undone
    again = import_paths(db, settings, [mbox], T0)
    assert again.read == 0 and again.skipped_bytes == mbox.stat().st_size  # resumed at the end
    db.execute("DELETE FROM meta WHERE key LIKE 'import-offset:%'")
    third = import_paths(db, settings, [mbox], T0)
    assert (third.read, third.duplicates) == (3, 3)  # idempotent even from scratch


def test_maildir_import(tmp_path, db, settings):
    box = mailbox.Maildir(str(tmp_path / "md"), create=True)
    box.add(fixture_bytes("plain_report.eml"))
    box.add(fixture_bytes("html_only_report.eml"))
    box.close()
    report = import_paths(db, settings, [tmp_path / "md"], T0)
    assert report.new == 2


def test_import_cli_errors(config_path, tmp_path):
    result = casebook("-c", str(config_path), "import", str(tmp_path / "nope.mbox"))
    assert result.returncode == 66 and b"no such file" in result.stderr
    (tmp_path / "plain").mkdir()
    result = casebook("-c", str(config_path), "import", str(tmp_path / "plain"))
    assert result.returncode == 65 and b"not a maildir" in result.stderr


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not beside this clone")
def test_the_real_corpus_imports(tmp_path, db, settings):
    source = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
    head = tmp_path / "head.mbox"
    with open(source, "rb") as handle:
        head.write_bytes(handle.read(600_000))
    expected = sum(1 for _ in iter_mbox(head))
    report = import_paths(db, settings, [head], T0)
    assert report.read == expected > 100
    assert archive_stats(db)["messages"] == report.new


def test_import_command_as_an_operator_runs_it(config_path, tmp_path):
    """`casebook import` itself, stdin and stderr not a terminal (it crashed on every call)."""
    mbox = tmp_path / "list.mbox"
    make_mbox(mbox, [fixture_bytes("plain_report.eml"), fixture_bytes("nul_in_charset.eml")])
    result = casebook("-c", str(config_path), "import", str(mbox))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "2 messages read: 2 new, 0 already archived"
    assert b"Traceback" not in result.stderr


def test_a_message_that_cannot_be_archived_does_not_stop_an_import(
    tmp_path, db, settings, monkeypatch
):
    from intake import importer

    real_ingest = importer.ingest_message

    def ingest(db_, msg, *args):  # a fault while archiving one message only
        if msg.message_id == "<plain-report-1@example.net>":
            raise RuntimeError("simulated fault")
        return real_ingest(db_, msg, *args)

    monkeypatch.setattr(importer, "ingest_message", ingest)
    mbox = tmp_path / "list.mbox"
    names = ("checklist_report.eml", "plain_report.eml", "html_only_report.eml")
    make_mbox(mbox, [fixture_bytes(n) for n in names])
    report = import_paths(db, settings, [mbox], T0)
    assert (report.read, report.new, report.quarantined) == (3, 2, 1)
    assert archive_stats(db)["quarantined"] == 1 and archive_stats(db)["outbox"] == {}


def _search(config_path, words: str) -> list[str]:
    import json

    result = casebook("-c", str(config_path), "search", words, "--json")
    assert result.returncode == 0, result.stderr.decode()
    return [hit["message_id"] for hit in json.loads(result.stdout)]


def _trigger_exists(db) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_insert'"
    ).fetchone()
    return row is not None


def test_imported_mail_is_searchable_once_and_live_mail_after_it_too(
    config_path, tmp_path, db, settings
):
    # An import indexes each batch in one statement (the trigger set aside within it).
    mbox = tmp_path / "list.mbox"
    names = ("checklist_report.eml", "plain_report.eml", "html_only_report.eml")
    make_mbox(mbox, [fixture_bytes(n) for n in names])
    result = casebook("-c", str(config_path), "import", str(mbox))
    assert result.returncode == 0, result.stderr.decode()
    assert _search(config_path, "stupid leave") == ["<plain-report-1@example.net>"]
    assert _trigger_exists(db)
    # Mail archived after the import is indexed as it arrives, as before.
    from tests.support.helpers import deliver

    deliver(db, settings, "plain_report.eml", now=T0, sender="sam@example.net",
            replace={"plain-report-1": "live-1", "stupid": "zanzibar"})  # fmt: skip
    assert _search(config_path, "zanzibar") == ["<live-1@example.net>"]


def test_an_import_batch_that_fails_leaves_the_index_and_its_trigger_as_they_were(
    config_path, tmp_path, db, settings, monkeypatch
):
    import sqlite3

    from intake import importer

    real_ingest = importer.ingest_message

    def ingest(db_, msg, *args):  # the archive's own trouble mid-batch: the batch is undone
        if msg.message_id == "<plain-report-1@example.net>":
            raise sqlite3.OperationalError("disk I/O error")
        return real_ingest(db_, msg, *args)

    monkeypatch.setattr(importer, "ingest_message", ingest)
    mbox = tmp_path / "list.mbox"
    make_mbox(mbox, [fixture_bytes(n) for n in ("checklist_report.eml", "plain_report.eml")])
    with pytest.raises(sqlite3.OperationalError):
        import_paths(db, settings, [mbox], T0)
    assert _trigger_exists(db)
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    monkeypatch.setattr(importer, "ingest_message", real_ingest)
    report = import_paths(db, settings, [mbox], T0)  # a re-run does the whole batch
    assert report.new == 2
    assert _search(config_path, "stupid leave") == ["<plain-report-1@example.net>"]


BROKEN_TRACE = (
    b"Received: from nowhere with garbage ;;; by ; id\n"
    b"From: Pat <pat@example.net>\nTo: conduct@example.org\nSubject: trace\n"
    b"Message-ID: <trace-1@example.net>\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n\n"
    b"A line of history.\n"
)


def test_imported_history_keeps_its_trace_headers_unread_live_mail_reads_them(
    tmp_path, db, settings
):
    import json

    from intake.parse import parse_message

    live = parse_message(
        BROKEN_TRACE, envelope_from="pat@example.net", envelope_to=(settings.reports,),
        settings=settings, loop_id="t",
    )  # fmt: skip
    assert "ReceivedHeaderDefect" in live.defects
    mbox = tmp_path / "list.mbox"
    make_mbox(mbox, [BROKEN_TRACE])
    import_paths(db, settings, [mbox], T0)
    defects, raw = db.execute(
        "SELECT defects, raw FROM messages WHERE message_id = '<trace-1@example.net>'"
    ).fetchone()
    assert "ReceivedHeaderDefect" not in json.loads(defects)
    assert raw.startswith(b"Received: from nowhere with garbage")  # kept as it came


def test_import_refuses_what_is_not_mail_and_imports_nothing(config_path, tmp_path, db):
    """`/etc/os-release` once became a message in the live archive."""
    text = tmp_path / "os-release"
    text.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n')
    binary = tmp_path / "archive.tar.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    mbox = tmp_path / "list.mbox"
    make_mbox(mbox, [fixture_bytes("plain_report.eml")])
    for path, why in ((text, b"not mail"), (binary, b"a binary file, not mail")):
        result = casebook("-c", str(config_path), "import", str(mbox), str(path))
        assert result.returncode == 65, result.stderr.decode()
        assert result.stderr.decode().startswith(f"casebook: {path}: ")
        assert why in result.stderr and b"nothing imported" in result.stderr
        assert b"Traceback" not in result.stderr
    assert archive_stats(db)["messages"] == 0  # not even the good mbox before it


def test_one_message_without_an_mbox_envelope_is_still_mail(config_path, tmp_path):
    eml = tmp_path / "report.eml"
    eml.write_bytes(fixture_bytes("plain_report.eml"))
    result = casebook("-c", str(config_path), "import", str(eml))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "1 messages read: 1 new, 0 already archived"


@pytest.mark.parametrize(
    ("start", "mail"),
    [
        (b"", True),
        (b"From rita@example.net Mon Jan  5 10:00:00 2026\nSubject: x\n\nhi\n", True),
        (
            b"Return-Path: <r@example.net>\r\nReceived: from x\r\n\tby y\r\nSubject: s\r\n\r\nb",
            True,
        ),
        (b"X-Custom: 1\n\nno field every mail has\n", False),
        (b"NAME=Debian\nID=debian\n", False),
        (b"#!/bin/sh\necho hi\n", False),
        (b"Subject: x\nthis line is no header\n\nbody", False),
    ],
)
def test_what_counts_as_mail(start, mail):
    assert (not_mail(start) is None) is mail
