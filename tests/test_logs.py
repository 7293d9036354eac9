"""What an operator reads: `casebook serve`'s log as a real process, in text and JSON.

One line per message in and per mail out, WARNING (with what to do) for what needs a person,
and never a reporter's name or address.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.store import IngestResult
from casebook.logs import scrub_addresses
from intake.process import describe_arrival
from tests.committee import BOB, CAROL, reported
from tests.conftest import ROOT, T0, fixture_bytes, free_port, write_config
from tests.helpers import INSTALLED_CASEBOOK, TRUSTED, run_casebook, smtp_send, vouched
from tests.mailbuild import build, pinned_keys_toml, sign
from tests.test_appeals import COUNCIL

REPORTER = ("Rita Reporter", "rita@example.net")


class LoggedServe:
    """The installed `casebook serve`, its stderr (the log) kept apart from its stdout."""

    def __init__(self, config: Path, port: int, *global_args: str):
        self.port = port
        self.stderr = config.parent / "serve.stderr"
        with open(self.stderr, "wb") as err, open(config.parent / "serve.stdout", "wb") as out:
            self.proc = subprocess.Popen(
                [INSTALLED_CASEBOOK, "-c", str(config), *global_args, "serve"],
                cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("casebook serve did not start listening")

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_for_line(self, text: str, count: int = 1, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [line for line in self.log().splitlines() if text in line]
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        raise AssertionError(f"no {count} log line(s) with {text!r} in:\n{self.log()}")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log()


@pytest.fixture(params=["text", "json"])
def logged_serve(request, tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
    args = ("--log-format", "json") if request.param == "json" else ()
    process = LoggedServe(config, port, *args)
    yield request.param, process
    process.stop()


CANARY = ("Rita Canaryname", "rita@canary-reporter.test")
CANARY_WORDS = ("Canaryname", "canary-reporter", "rita@", "<report-1@", "<rita-2@", "<sam-1@",
                "Alice", "alice@", "Bob", "bob@", "Carol", "sam@")  # fmt: skip


@pytest.fixture(params=["text", "json"])
def logged_case(request, tmp_path, relay):
    """`casebook serve` with the members' pinned DKIM keys, logging as an operator runs it."""
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra="\n" + TRUSTED + "\n" + pinned_keys_toml())  # fmt: skip
    args = ("--log-format", "json") if request.param == "json" else ()
    process = LoggedServe(config, port, *args)
    yield request.param, process
    process.stop()


def member_mail(sender: str, text: str, n: int, *, signed: bool = True) -> bytes:
    """A member's mail to the reports address in the case's thread (the tag names it)."""
    raw = build(sender=sender, to="conduct@example.org", subject="Re: [CoC-2026-001] New report",
                body=text, message_id=f"<member-{n}@example.org>")  # fmt: skip
    return sign(raw) if signed else raw


def run_small_case(port: int) -> None:
    """A report from a canary reporter, her follow-up (her domain's DKIM pass, as the trusted
    receiving host recorded it), a stranger writing to the case, a
    forged command (held: it is not Alice's), a #to-reporter the leak guard holds, an accepted
    command and a refused one (an unknown keyword, its argument a canary)."""
    report = (
        f"From: {CANARY[0]} <{CANARY[1]}>\r\nTo: conduct@example.org\r\n"
        "Subject: Problem on the users list\r\nMessage-ID: <report-1@canary-reporter.test>\r\n"
        "\r\nDave Jones called me stupid on the users list.\r\n\r\nRita Canaryname\r\n"
    ).encode()
    smtp_send(port, report, CANARY[1], ["conduct@example.org"])
    followup = (
        f"From: {CANARY[0]} <{CANARY[1]}>\r\nTo: conduct@example.org\r\n"
        "Subject: Re: [CoC-2026-001] We received your report\r\n"
        "Message-ID: <rita-2@canary-reporter.test>\r\n\r\nHe did it again today.\r\n"
    ).encode()
    smtp_send(port, vouched(followup, CANARY[1]), CANARY[1], ["conduct@example.org"])
    stranger = followup.replace(f"{CANARY[0]} <{CANARY[1]}>".encode(), b"Sam <sam@example.com>")
    stranger = stranger.replace(b"<rita-2@", b"<sam-1@")
    smtp_send(port, stranger, "sam@example.com", ["conduct@example.org"])
    forged = member_mail("Alice Chair <alice@example.org>", "#close no-action", 1, signed=False)
    smtp_send(port, forged, "alice@example.org", ["conduct@example.org"])
    held = member_mail("Alice Chair <alice@example.org>",
                       "#to-reporter\nCarol Member will phone you.", 2)  # fmt: skip
    smtp_send(port, held, "alice@example.org", ["conduct@example.org"])
    note = member_mail("Bob Member <bob@example.org>", "#note\nI know the list admin.", 3)
    smtp_send(port, note, "bob@example.org", ["conduct@example.org"])
    unknown = member_mail("Bob Member <bob@example.org>", "#frobnicate Canaryname", 4)
    smtp_send(port, unknown, "bob@example.org", ["conduct@example.org"])


def test_serve_logs_a_whole_case_by_numbers_and_classes_never_by_people(logged_case, relay):
    style, serve = logged_case
    relay.refuse[CANARY[1]] = f"550 5.1.1 <{CANARY[1]}>: no such user here"
    run_small_case(serve.port)
    serve.wait_for_line("command: applied", count=2)
    serve.wait_for_line("command: refused")
    serve.wait_for_line("committee/delivery_problem")  # the failed ack's notice went out
    log = serve.stop()
    for word in CANARY_WORDS:  # no name, address, domain or Message-ID of anyone
        assert word not in log, word
    assert "Traceback" not in log
    if style == "json":
        entries = [json.loads(line) for line in log.splitlines()]
        assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
        arrivals = [e for e in entries if "route" in e]
        assert all(e["case"] == "CoC-2026-001" for e in arrivals)
        numbers = [e["message_number"] for e in arrivals]
        assert numbers == sorted(set(numbers)) and len(numbers) == 7, arrivals
        report, followup, held, forged, guarded, note, refused = arrivals
        assert (report["level"], report["route"], report["outcome"]) == ("INFO", "report", "opened")
        assert f"message {report['message_number']}" in report["msg"]
        assert (followup["route"], followup["outcome"]) == ("followup", "recorded")
        assert (held["level"], held["route"], held["outcome"]) == ("WARNING", "held", "held")
        assert "casebook held" in held["hint"]
        # Mail in a member's name that is not proved theirs is held, never run (issue 18 §2).
        assert (forged["level"], forged["route"], forged["outcome"]) == ("WARNING", "held", "held")
        assert (refused["level"], refused["route"], refused["outcome"]) == (
            "WARNING", "command", "refused")  # fmt: skip
        assert refused["hint"].startswith("unknown-command; ")
        assert (refused["reason"], held["reason"]) == ("unknown-command", "held")
        assert (guarded["outcome"], note["outcome"]) == ("applied", "applied")
        guard = [e for e in entries if e.get("outcome") == "held" and "template" in e]
        assert [(g["level"], g["template"], g["case"]) for g in guard] == [
            ("WARNING", "reporter/message", "CoC-2026-001")]  # fmt: skip
        assert "leak guard" in guard[0]["msg"] and guard[0]["outbox_id"]
        mail = [e for e in entries if "template" in e and e.get("outcome")]
        ack = next(e for e in mail if e["template"] == "reporter/ack")
        assert ack["level"] == "WARNING" and ack["outcome"] == "failed"
        assert f"casebook outbox retry {ack['outbox_id']}" in ack["msg"]
        assert "[address]" in ack["msg"]  # the relay's answer named Rita: scrubbed
        assert all("message_id" not in e for e in entries)
    else:
        lines = log.splitlines()
        assert any(re.search(r" INFO intake.process: in CoC-2026-001 report: opened message \d+$",
                             line) for line in lines), log  # fmt: skip
        assert any("WARNING intake.process: in CoC-2026-001 held: held message " in line
                   for line in lines)  # fmt: skip
        assert any(re.search(r"WARNING intake.process: in CoC-2026-001 command: refused message"
                             r" \d+ \(unknown-command; see `casebook show CoC-2026-001`\)",
                             line) for line in lines), log  # fmt: skip
        assert any(re.search(r"WARNING intake.process: out CoC-2026-001 reporter/message:"
                             r" held by the leak guard, outbox \d+", line)
                   for line in lines), log  # fmt: skip
        failed = next(line for line in lines if "reporter/ack: failed" in line)
        assert "WARNING mailer.send: out CoC-2026-001" in failed
        assert "`casebook outbox retry " in failed
        assert any(re.search(r"committee/new_case: sent outbox \d+$", line) for line in lines)


def test_a_relay_outage_is_one_warning_with_what_to_do(tmp_path):
    config = write_config(tmp_path, relay_port=free_port())  # nobody listens there
    report = fixture_bytes("plain_report.eml")
    stored = run_casebook("-c", str(config), "ingest", "--sender", REPORTER[1], stdin=report)
    assert stored.returncode == 0 and stored.stderr == b"", stored.stderr  # ingest never sends
    stored = run_casebook("-c", str(config), "--log-format", "json", "tick")
    assert stored.returncode == 0, stored.stderr
    log = stored.stderr.decode()
    entries = [json.loads(line) for line in log.splitlines()]
    assert [e["level"] for e in entries] == ["WARNING"], entries  # INFO lines need -v
    assert entries[0]["outcome"] == "relay-unreachable"
    assert (
        "unreachable ([Errno 111] Connection refused): 2 mail(s) postponed" in entries[0]["msg"]
        and "casebook outbox" in entries[0]["msg"]
    )
    assert REPORTER[1] not in log and REPORTER[0] not in log
    later = (datetime.now(UTC) + timedelta(minutes=3)).isoformat()
    verbose = run_casebook("-c", str(config), "-v", "tick", "--now", later).stderr.decode()
    assert " INFO mailer.send: out CoC-2026-001 reporter/ack: postponed outbox " in verbose
    assert " WARNING mailer.send: relay 127.0.0.1:" in verbose and "unreachable" in verbose


@pytest.mark.parametrize(
    "result, expected",
    [
        (IngestResult(1, False, "report", "CoC-2026-001"), (logging.INFO, "report", "opened")),
        (IngestResult(1, True, "report", "CoC-2026-001"), (logging.INFO, "report", "duplicate")),
        (IngestResult(1, False, "followup", "C"), (logging.INFO, "followup", "recorded")),
        (IngestResult(1, False, "deliberation", "C"), (logging.INFO, "deliberation", "recorded")),
        (IngestResult(1, False, "deliberation", "C", commands="applied"),
         (logging.INFO, "command", "applied")),
        (IngestResult(1, False, "deliberation", "C", commands="refused", refusal="x"),
         (logging.WARNING, "command", "refused")),
        (IngestResult(1, False, "appeal", None), (logging.INFO, "appeal", "recorded")),
        (IngestResult(1, False, "bounce", "C"), (logging.INFO, "bounce", "recorded")),
        (IngestResult(1, False, "bounce", None, "no record"), (logging.WARNING, "held", "held")),
        (IngestResult(1, False, "loop", None, "loop"), (logging.WARNING, "held", "held")),
        (IngestResult(1, False, "quarantined", None, "x"),
         (logging.WARNING, "quarantine", "quarantined")),
        (IngestResult(1, False, "list", None), (logging.INFO, "list", "recorded")),
    ],
)  # fmt: skip
def test_every_route_has_a_level_and_an_outcome(result, expected):
    level, route, outcome, hint = describe_arrival(result)
    assert (level, route, outcome) == expected
    assert (hint is not None) == (level == logging.WARNING)  # a warning says what to do


def test_addresses_and_message_ids_are_scrubbed():
    text = "550 <rita@example.net>: no; Bj\u00f6rn.o'k+x@m\u00fcnchen.example in <cb-1@example.org>"
    assert scrub_addresses(text) == "550 <[address]>: no; [address] in <[address]>"


@pytest.fixture
def council_committee(tmp_path):
    yield from reported(tmp_path, members=COUNCIL)


def test_a_clock_mail_the_leak_guard_holds_has_its_own_line(council_committee, tmp_path):
    """An enactment the chair scheduled, whose statement names a member: held at its hour,
    and `casebook tick` (cron) says so, by case, template and outbox number."""
    c = council_committee
    c.say("#responsible Dave <dave@example.com>\n#propose private-reprimand\nStatement:\n"
          "Stop it. Carol Member will watch the list.\nEnd of statement", now=T0)  # fmt: skip
    c.say("#agree", sender=BOB, now=T0)
    c.say("#agree", sender=CAROL, now=T0)
    c.say("#consult", now=T0)
    c.say("#enact 2026-03-20", now=T0 + timedelta(days=6))
    config = tmp_path / "casebook.toml"
    done = run_casebook("-c", str(config), "tick", "--now", "2026-03-20T13:00:00+00:00")
    log = done.stderr.decode()
    assert done.returncode == 0, log
    assert re.search(
        r" WARNING intake.process: out CoC-2026-001 reported/private_reprimand:"
        r" held by the leak guard, outbox \d+ \(the committee is told",
        log,
    ), log
    assert "Carol" not in log and "Dave" not in log
