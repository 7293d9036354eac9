"""The commands that only read the archive (`cases`, `show`, `search`, `stats`): opened
read-only with plain sqlite3, never migrated, quick to start; and search's bounded ranking and
its snippets made near the match."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import archive.search
from archive.search import fts_query, search_messages, snippet_of
from casebook import cli
from tests.conftest import ROOT, T0
from tests.helpers import deliver, run_casebook

# What `cases`, `show` and `search` must not load: each costs start-up time the command has no
# use for (sqlite-utils alone ~65 ms; the others are the mailer's, intake's or serve's).
HEAVY = ("sqlite_utils", "jinja2", "mailparser", "aiosmtpd", "aiohttp", "apscheduler", "ssl",
         "logging", "tqdm", "dkim", "nh3")  # fmt: skip


def _reports(db, settings, count: int) -> None:
    for n in range(count):
        deliver(db, settings, "plain_report.eml", now=T0, sender=f"r{n}@example.net",
                replace={"plain-report-1": f"plain-report-{n + 10}",
                         "stupid": "stupid " * (n % 4 + 1)})  # fmt: skip


def _migrations(db) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM _sqlite_migrations")}


def test_read_commands_load_nothing_they_do_not_use(config_path, db, settings):
    _reports(db, settings, 1)
    for args in (["cases"], ["show", "CoC-2026-001"], ["search", "stupid"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "casebook.cli", "-c", str(config_path),
             *args], capture_output=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-500:]
        loaded = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines()}
        assert "archive.db" in loaded  # the import trace was read
        assert not {name for name in loaded if name.split(".")[0] in HEAVY}, args


def test_an_archive_older_than_the_code_is_refused_not_migrated(config_path, db, settings):
    _reports(db, settings, 1)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm017_list_indexes'")
    db.execute("DROP INDEX cases_list")
    for args in (["cases"], ["show", "CoC-2026-001"], ["search", "stupid"], ["stats"]):
        refused = run_casebook("-c", str(config_path), *args)
        assert refused.returncode == 75, args
        message = refused.stderr.decode()
        assert "older than this casebook" in message and "m017_list_indexes" in message
        assert "casebook tick" in message and "Traceback" not in message
    assert "m017_list_indexes" not in _migrations(db)  # a reader writes nothing
    assert run_casebook("-c", str(config_path), "tick").returncode == 0
    assert "m017_list_indexes" in _migrations(db)
    listed = run_casebook("-c", str(config_path), "cases")
    assert listed.returncode == 0 and "CoC-2026-001" in listed.stdout.decode()


def test_a_file_that_is_no_archive_is_a_clear_error(config_path, settings):
    database = Path(settings.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"")
    refused = run_casebook("-c", str(config_path), "cases")
    assert refused.returncode == 74
    assert "has no casebook tables" in refused.stderr.decode()


def test_cases_makes_an_archive_left_readable_private_and_says_so(config_path, db, settings):
    _reports(db, settings, 1)
    archive = settings.database
    os.chmod(archive, 0o644)
    listed = run_casebook("-c", str(config_path), "cases")
    assert listed.returncode == 0 and "CoC-2026-001" in listed.stdout.decode()
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    warnings = [line for line in listed.stderr.decode().splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and str(archive) in warnings[0]
    again = run_casebook("-c", str(config_path), "cases")
    assert again.stderr.decode() == ""


def test_a_usage_error_after_a_command_reads_as_before(config_path, db):
    wrong = run_casebook("-c", str(config_path), "cases", "--bogus")
    assert wrong.returncode == 64
    assert wrong.stderr.decode() == (
        "casebook: unrecognized arguments: --bogus (see casebook --help)\n"
    )
    missing = run_casebook("-c", str(config_path), "show")
    assert missing.returncode == 64
    assert "the following arguments are required: case" in missing.stderr.decode()
    helped = run_casebook("-c", str(config_path), "search", "--help")
    assert helped.returncode == 0 and "usage: casebook search" in helped.stdout.decode()


def test_a_common_word_is_ranked_among_its_newest_matches(db, settings, monkeypatch, capsys,
                                                          config_path):  # fmt: skip
    _reports(db, settings, 6)
    query = fts_query("stupid")
    newest = [row[0] for row in db.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 3",
        [query])]  # fmt: skip
    ranked = [row[0] for row in db.execute(
        "SELECT m.message_id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
        f" WHERE messages_fts MATCH ? AND m.id IN ({','.join('?' * len(newest))})"
        " ORDER BY rank", [query, *newest])]  # fmt: skip
    monkeypatch.setattr(archive.search, "RANK_POOL", 3)
    hits, total = search_messages(db, "stupid", limit=2)
    assert total == 6
    assert [h["message_id"] for h in hits] == ranked[:2]
    assert cli.main(["-c", str(config_path), "search", "stupid", "--limit", "2"]) == 0
    shown = capsys.readouterr().out
    assert "showing the best 2 among the 3 most recently archived of 6 matches" in shown


def test_snippets_mark_the_words_near_where_they_meet():
    text = ("A long preamble about nothing much at all, going on and on. " * 5
            + "Then the kernel said: kernel panic, attempted to kill init. And after.")  # fmt: skip
    shown = snippet_of(text, ["kernel", "panic"])
    assert "[kernel] [panic]" in shown
    assert shown.startswith(" … ") and shown.endswith(" … ")
    assert len(shown.split()) <= 16
    assert snippet_of("short text", ["TEXT"]) == "short [text]"
    # FTS5 separates words at "_", so must the snippet; and it never marks part of a word.
    assert snippet_of("call r4k_flush_cache now", ["flush"]) == "call r4k_[flush]_cache now"
    assert snippet_of("flushed and reflush", ["flush"]) is None


def test_a_word_found_only_by_folding_gets_the_index_snippet(db, settings):
    deliver(db, settings, "plain_report.eml", now=T0,
            replace={"stupid": "stupide, said the Café owner"})  # fmt: skip
    [hit], total = search_messages(db, "cafe")
    assert total == 1 and "[Café]" in hit["snippet"]


@pytest.mark.parametrize("argv", [["-c", "x.toml", "cases"], ["--config=x.toml", "-v", "show"],
                                  ["--log-format", "json", "search"]])  # fmt: skip
def test_the_command_is_found_after_the_usual_options(argv):
    assert cli._command_in(argv) == argv[-1]
    assert cli._command_in(["-h", "cases"]) is None and cli._command_in(["-vc", "x"]) is None


def test_each_command_module_builds_its_parser_alone_as_the_full_one_does():
    """One module per subcommand (casebook/commands/): the quick parse (its parser alone) and
    the full parser read the same command line into the same values."""
    lines = {
        "serve": ["serve", "--with-sink"],
        "ingest": ["ingest", "--recipient", "a@example.org", "b@example.org"],
        "import": ["import", "a.mbox", "maildir"],
        "tick": ["tick", "--now", "2026-11-02T10:00"],
        "cases": ["cases", "--state", "received", "--json"],
        "show": ["show", "CoC-2026-001"],
        "stats": ["stats", "--json"],
        "search": ["search", "kernel panic", "--limit", "3"],
        "export": ["export", "CoC-2026-001", "--for", "ec@example.org", "--reason", "why"],
        "backup": ["backup", "copy.db"],
        "restore": ["restore", "copy.db"],
        "report": ["report", "--quarter", "2026Q4", "--send"],
        "bans": ["bans"],
        "digest": ["digest", "--html"],
        "held": ["held", "--json"],
        "outbox": ["outbox", "retry", "7"],
        "check-config": ["check-config", "--connect"],
    }
    assert list(lines) == list(cli.COMMANDS)
    for name, argv in lines.items():
        module = cli.command_module(name)
        assert callable(module.add_parser) and callable(module.run), name
        alone = cli.build_parser(only=name).parse_args(["-c", "x.toml", *argv])
        assert alone == cli.build_parser().parse_args(["-c", "x.toml", *argv]), name
