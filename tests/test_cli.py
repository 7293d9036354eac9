"""The `casebook` command as a user runs it: output, --json fields, and clear errors."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from tests.conftest import ROOT, T0, fixture_bytes, write_config
from tests.helpers import deliver, run_casebook


def casebook(*args, stdin: bytes | None = None, env=None):
    return run_casebook(*args, stdin=stdin, env=env)


def assert_clean_error(result, code: int, text: str):
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert text in stderr
    assert "Traceback" not in stderr


def test_cases_show_and_stats_json(config_path, db, settings):
    deliver(db, settings, "urgent_report.eml", now=T0, sender="uma@example.net")
    deliver(db, settings, "report_naming_member.eml", now=T0, sender="paula@example.net")
    cases = json.loads(casebook("-c", str(config_path), "cases", "--json").stdout)
    assert [c["id"] for c in cases] == ["CoC-2026-001", "CoC-2026-002"]
    assert set(cases[0]) == {"id", "state", "urgent", "opened_at", "reporter", "conflicted"}
    assert cases[0]["urgent"] is True and cases[0]["reporter"] == "uma@example.net"
    assert cases[1]["conflicted"] == ["bob@example.org"]
    shown = json.loads(casebook("-c", str(config_path), "show", "coc-2026-001", "--json").stdout)
    assert shown["fields"]["law_enforcement"].startswith("I have not called the police")
    assert shown["messages"][0] == {
        **shown["messages"][0],
        "message_id": "<urgent-1@example.net>",
        "direction": "in",
        "kind": "report",
    }
    assert shown["events"][0]["action"] == "case-opened"
    assert {"votes", "deadlines", "bans"} <= set(shown)
    stats = json.loads(casebook("-c", str(config_path), "stats", "--json").stdout)
    assert stats["messages"] == 2 and stats["cases"] == {"received": 2}
    assert stats["outbox"] == {"queued": 6} and stats["deadlines"] == 6  # 3 clocks each
    assert stats["list_messages"] == 0 and stats["spooled"] == 0
    text = casebook("-c", str(config_path), "cases").stdout.decode()
    assert "CoC-2026-001" in text and "URGENT" in text


def test_ingest_from_stdin_then_tick_sends(config_path, relay):
    result = casebook(
        "-c", str(config_path), "ingest", "--sender", "rita@example.net",
        stdin=fixture_bytes("plain_report.eml"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert relay.messages == []  # ingest never sends: serve or tick does
    sent = casebook("-c", str(config_path), "tick")
    assert sent.returncode == 0, sent.stderr.decode()
    relay.wait_for(2)
    assert relay.to("rita@example.net")[0]["Subject"].startswith("[CoC-2026-001]")
    later = (T0 + timedelta(days=400)).isoformat()
    tick = casebook("-c", str(config_path), "tick", "--now", later)
    # Down for a long time: the week's clocks fire once, late, and the committee is told.
    assert tick.returncode == 0
    assert "2 deadline(s) fired (2 late)" in tick.stdout.decode()
    again = casebook("-c", str(config_path), "tick", "--now", later)
    assert again.returncode == 0 and again.stdout == b"" and again.stderr == b""  # cron: quiet
    verbose = casebook("-c", str(config_path), "-v", "tick", "--now", later).stdout.decode()
    assert "0 deadline(s) fired" in verbose and "0 sent" in verbose
    acks = [m for m in relay.to("rita@example.net") if "We received" in m["Subject"]]
    assert len(acks) == 1


def test_ingest_stores_and_exits_while_the_relay_hangs(tmp_path, relay):
    """A Postfix pipe process is held only for storing, never for the relay's timeout."""
    with socket.socket() as hanging:  # accepts connections, never says a word
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)
        hanging_port = hanging.getsockname()[1]
        config = write_config(tmp_path, relay_port=hanging_port)
        started = time.monotonic()
        stored = casebook("-c", str(config), "ingest", "--sender", "rita@example.net",
                          stdin=fixture_bytes("plain_report.eml"))  # fmt: skip
        took = time.monotonic() - started
    assert stored.returncode == 0 and stored.stderr == b"", stored.stderr.decode()
    assert took < 4, took  # the relay's timeout is 5 s
    cases = json.loads(casebook("-c", str(config), "cases", "--json").stdout)
    assert len(cases) == 1
    config.write_text(config.read_text().replace(f"port = {hanging_port}", f"port = {relay.port}"))
    assert casebook("-c", str(config), "tick").returncode == 0
    relay.wait_for(2)
    assert relay.to("rita@example.net")


def test_show_marks_fired_and_cancelled_deadlines(config_path, relay):
    ingested = casebook("-c", str(config_path), "ingest", "--sender", "rita@example.net",
                        stdin=fixture_bytes("plain_report.eml"))  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr.decode()
    before = casebook("-c", str(config_path), "show", "CoC-2026-001").stdout.decode()
    listed = before.split("\ndeadlines:\n")[1].splitlines()
    assert listed and not any("fired" in line or "cancelled" in line for line in listed)
    later = (T0 + timedelta(days=400)).isoformat()
    assert casebook("-c", str(config_path), "tick", "--now", later).returncode == 0
    after = casebook("-c", str(config_path), "show", "CoC-2026-001").stdout.decode()
    listed = after.split("\ndeadlines:\n")[1].splitlines()
    assert listed and all("  (fired " in line for line in listed), after


def test_show_text_marks_a_cancelled_deadline_and_leaves_an_open_one_bare():
    from casebook.commands.show import render_case_text

    detail = {"id": "CoC-2026-001", "state": "closed", "urgent": False, "reporter": None,
              "opened_at": "2026-01-05T10:00:00", "conflicted": [], "fields": {}, "parties": [],
              "messages": [], "events": [], "deadlines": [
                  {"kind": "ack-watchdog", "due_at": "2026-01-05T11:00:00", "fired_at": None,
                   "cancelled_at": "2026-01-05T10:30:00+00:00"},
                  {"kind": "reporter-update", "due_at": "2026-01-12T10:00:00", "fired_at": None,
                   "cancelled_at": None},
              ]}  # fmt: skip
    lines = render_case_text(detail).split("\ndeadlines:\n")[1].splitlines()
    assert lines == ["  2026-01-05T11:00:00 ack-watchdog  (cancelled 2026-01-05T10:30:00)",
                     "  2026-01-12T10:00:00 reporter-update"]  # fmt: skip


def test_ingest_says_a_broken_configuration_in_what_postfixs_pipe_log_keeps(tmp_path):
    """Postfix keeps the first 4 KB of a pipe command's output for its log and the bounce;
    a configuration with 100 problems once filled it with the first of them."""
    extra = "\n".join(f"misspelt_key_number_{n} = {n}" for n in range(100))
    config = write_config(tmp_path, extra=extra)
    stored = casebook("-c", str(config), "ingest", stdin=fixture_bytes("plain_report.eml"))
    assert stored.returncode == 75
    lines = stored.stderr.decode().splitlines()
    assert len(stored.stderr) < 1000 and len(lines) == 4, lines
    assert lines[0] == "casebook: config: [security] unknown key 'misspelt_key_number_0'"
    assert lines[-1] == ("casebook: config: 97 more problem(s): `casebook check-config` lists"
                         " them all")  # fmt: skip
    checked = casebook("-c", str(config), "check-config")
    assert checked.returncode == 78 and len(checked.stderr.decode().splitlines()) == 100


def test_ingest_exits_75_when_the_message_cannot_be_stored(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool folder should be")
    config = write_config(tmp_path)
    text = config.read_text().replace(str(tmp_path / "spool"), str(blocker / "spool"))
    config.write_text(text)
    result = casebook("-c", str(config), "ingest", stdin=fixture_bytes("plain_report.eml"))
    assert_clean_error(result, 75, "could not store the message")


def test_ingest_refuses_empty_input(config_path):
    assert_clean_error(casebook("-c", str(config_path), "ingest", stdin=b""), 65, "no message")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace('reports = "conduct@example.org"', 'reports = "not an address"'),
         "[addresses] reports is not a plain mail address"),
        (lambda t: t.replace('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"'),
         "timezone 'Mars/Olympus' is not a known time zone"),
        (lambda t: t.replace('command_auth = "dkim"', 'command_auth = "trust-me"'),
         "[security] command_auth must be one of dkim, token"),
        (lambda t: t.replace("[intake]", "[intake]\nmystery = 1"),
         "[intake] unknown key 'mystery'"),
        (lambda t: t.replace('give_up_after = "1d"', 'give_up_after = "soon"'),
         "[mailer] give_up_after: not a duration"),
        (lambda t: t + "\n[[members]]\nname = 'X'\n", "[[members]] #4 (X) email is required"),
        (lambda t: t.replace("[casebook]", "[casebook"), "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_configuration_is_explained(tmp_path, mutate, message):
    config = write_config(tmp_path)
    config.write_text(mutate(config.read_text()))
    for command in (["check-config"], ["cases"], ["serve"]):
        assert_clean_error(casebook("-c", str(config), *command), 78, message)


def test_check_config_accepts_the_example_and_finds_a_broken_template(tmp_path):
    example = ROOT / "config" / "casebook.example.toml"
    result = casebook("-c", str(example), "check-config")
    assert result.returncode == 0 and b"valid" in result.stdout
    override = tmp_path / "templates" / "reporter"
    override.mkdir(parents=True)
    (override / "ack.txt").write_text("Subject: Hi\n{{ no_such_field }}\n")
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            'case_prefix = "CoC"', f'case_prefix = "CoC"\ntemplates = "{tmp_path / "templates"}"'
        )
    )
    assert_clean_error(casebook("-c", str(config), "check-config"), 78, "reporter/ack.txt")


def test_user_errors_are_one_line(config_path, db, tmp_path):
    assert_clean_error(casebook("-c", str(config_path), "show", "CoC-2026-999"), 65, "no case")
    assert_clean_error(
        casebook("-c", str(config_path), "tick", "--now", "next tuesday"), 64, "--now"
    )
    assert_clean_error(
        casebook("-c", str(config_path), "cases", "--state", "sleeping"), 64, "unknown state"
    )
    assert_clean_error(
        casebook("-c", str(tmp_path / "missing.toml"), "cases"), 78, "no such configuration file"
    )
    assert_clean_error(
        casebook("-c", str(config_path), "tick", "--now", "0001-01-01T00:00"), 64, "out of range"
    )
    for bad in (["frobnicate"], ["-c", str(config_path), "cases", "--bogus"], ["show"]):
        result = casebook(*bad)
        assert_clean_error(result, 64, "casebook")
        assert len(result.stderr.decode().strip().splitlines()) == 1, result.stderr


def test_the_version_names_the_release_and_the_archive_schema_it_expects():
    """0.1.0 through 174 commits and 11 migrations told an operator nothing."""
    from archive.schema import migrations

    shown = casebook("--version").stdout.decode().strip()
    release, schema = shown.removeprefix("casebook ").split(" (archive schema ")
    assert release != "0.1.0" and re.fullmatch(r"0\.\d+\.\d+", release), shown
    assert schema == f"{migrations.names()[-1]})"


def test_version_and_a_closed_pipe(config_path, db):
    version = casebook("--version")
    assert version.returncode == 0 and version.stdout.decode().startswith("casebook 0.")
    # `casebook … | head`: the reader goes away; no "internal error", no traceback.
    for command in (["cases"], ["--help"]):
        with subprocess.Popen(
            [sys.executable, "-m", "casebook.cli", "-c", str(config_path), *command],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) as process:  # fmt: skip
            process.stdout.close()
            stderr = process.stderr.read().decode()
            assert process.wait(timeout=60) in (0, 141), stderr
        assert "rror" not in stderr and "Traceback" not in stderr, stderr


def test_bans_and_digest_commands(tmp_path, relay):
    from archive.db import open_archive
    from tests.committee import BOB, Committee, dkim_settings

    settings = dkim_settings(tmp_path, relay_port=relay.port)
    config = tmp_path / "casebook.toml"
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    c.say("#urgent\n#ban dave@example.com permanent chat", sender=BOB)
    db.close()
    bans = json.loads(casebook("-c", str(config), "bans", "--json").stdout)
    assert bans[0]["who"] == "dave@example.com" and bans[0]["permanent"] is True
    assert bans[0]["case"] == "CoC-2026-001" and bans[0]["review_at"]
    assert b"dave@example.com from chat" in casebook("-c", str(config), "bans").stdout
    printed = casebook("-c", str(config), "digest", "--now", "2026-03-09T10:00")
    text = printed.stdout.decode()
    assert printed.returncode == 0 and "CoC-2026-001" in text and "URGENT" in text
    assert "Rita" not in text and "dave@" not in text
    sent = casebook("-c", str(config), "digest", "--send", "--now", "2026-03-09T10:00")
    assert b"digest queued (1 copies)" in sent.stdout
    again = casebook("-c", str(config), "digest", "--send", "--now", "2026-03-09T11:00")
    assert b"already sent" in again.stdout
    relay.wait_for(1)
    assert [m for m in relay.to("council@example.org") if "weekly digest" in m["Subject"]]


def test_search_and_backup(config_path, db, settings, tmp_path):
    deliver(db, settings, "plain_report.eml", now=T0)
    deliver(db, settings, "checklist_report.eml", now=T0, sender="chris@example.net")
    hits = json.loads(casebook("-c", str(config_path), "search", "stupid leave", "--json").stdout)
    assert [h["message_id"] for h in hits] == ["<plain-report-1@example.net>"]
    assert hits[0]["case"] == "CoC-2026-001" and "[stupid]" in hits[0]["snippet"]
    assert b"no messages match" in casebook("-c", str(config_path), "search", "zebra").stdout
    assert_clean_error(casebook("-c", str(config_path), "search", "!!!"), 64, "no words")
    copy = tmp_path / "backups" / "copy.db"
    result = casebook("-c", str(config_path), "backup", str(copy))
    assert result.returncode == 0, result.stderr
    import sqlite3

    assert sqlite3.connect(copy).execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 2
    assert_clean_error(casebook("-c", str(config_path), "backup", str(copy)), 73, "exists")


def test_export_for_a_justified_council_request(config_path, db, settings, tmp_path):
    import mailbox

    deliver(db, settings, "plain_report.eml", now=T0)
    deliver(db, settings, "report_naming_member.eml", now=T0, sender="paula@example.net")
    out = tmp_path / "case.mbox"
    ok = casebook("-c", str(config_path), "export", "CoC-2026-001", "--for", "erin@example.org",
                  "--reason", "appeal review", "--out", str(out))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    box = mailbox.mbox(str(out))
    messages = list(box)
    box.close()
    assert messages[0]["Message-ID"] == "<plain-report-1@example.net>"
    assert_clean_error(
        casebook("-c", str(config_path), "export", "CoC-2026-001", "--for", "bob@example.org",
                 "--reason", "curious"), 77, "not a member of the Executive Council")  # fmt: skip
    db.execute("UPDATE cases SET conflicted = '[\"erin@example.org\"]' WHERE ref = 'CoC-2026-002'")
    assert_clean_error(
        casebook("-c", str(config_path), "export", "CoC-2026-002", "--for", "erin@example.org",
                 "--reason", "x", "--out", str(tmp_path / "b.mbox")), 77, "conflicted")  # fmt: skip
    actions = [
        r[0]
        for r in db.execute("SELECT action FROM events WHERE action LIKE 'export%' ORDER BY id")
    ]
    assert actions == ["exported", "export-refused", "export-refused"]  # every refusal logged
    assert_clean_error(
        casebook("-c", str(config_path), "export", "CoC-2026-001", "--for", "erin@example.org",
                 "--reason", "x", "--out", str(tmp_path / "no" / "such" / "dir.mbox")),
        73, "cannot write",
    )  # fmt: skip


def test_serve_on_a_taken_port_says_so(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, intake_port=port)
        assert_clean_error(
            casebook("-c", str(config), "serve"), 75, f"cannot listen on 127.0.0.1:{port}"
        )


def test_ingest_as_a_postfix_pipe_calls_it(config_path, tmp_path, relay):
    """`argv=casebook ingest --sender ${sender} --recipient ${recipient}`, several recipients."""
    both = casebook(
        "-c", str(config_path), "ingest", "--sender", "rita@example.net",
        "--recipient", "conduct@example.org", "conduct-appeals@example.org",
        stdin=fixture_bytes("plain_report.eml"),
    )  # fmt: skip
    assert both.returncode == 0, both.stderr.decode()
    # No --sender (a .forward): the report's own sender is acknowledged, not taken for a bounce.
    plain = casebook("-c", str(config_path), "ingest", stdin=fixture_bytes("checklist_report.eml"))
    assert plain.returncode == 0, plain.stderr.decode()
    cases = json.loads(casebook("-c", str(config_path), "cases", "--json").stdout)
    assert len(cases) == 2 and all(c["reporter"] for c in cases)
    # An unreadable configuration defers (75), so the MTA keeps the report.
    unreadable = casebook("-c", str(tmp_path / "gone.toml"), "ingest", stdin=b"Subject: x\n\nhi\n")
    assert unreadable.returncode == 75 and b"Traceback" not in unreadable.stderr
