"""What an operator reads: `casebook serve`'s log as a real process, in text and JSON.

One line per message in and per mail out, WARNING (with what to do) for what needs a person,
and never a reporter's name or address.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.store import IngestResult
from casebook.logs import scrub_addresses
from intake.process import describe_arrival
from tests.committee import LIST
from tests.conftest import ROOT, fixture_bytes, free_port, write_config
from tests.helpers import INSTALLED_CASEBOOK, TRUSTED, run_casebook, smtp_send, vouched
from tests.mailbuild import pinned_keys_toml, via_list

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
    extra = TRUSTED + "\n" + pinned_keys_toml()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port, extra=extra)
    args = ("--log-format", "json") if request.param == "json" else ()
    process = LoggedServe(config, port, *args)
    yield request.param, process
    process.stop()


def send_conversation(port: int) -> None:
    """A report, the reporter's follow-up (her domain's DKIM pass, as the trusted receiving host
    recorded it), a stranger writing to the case, a forged command (the list's copy of an
    unsigned post in Alice's name)."""
    smtp_send(port, fixture_bytes("plain_report.eml"), REPORTER[1], ["conduct@example.org"])
    followup = (
        b"From: Rita Reporter <rita@example.net>\r\nTo: conduct@example.org\r\n"
        b"Subject: Re: [CoC-2026-001] We received your report\r\n"
        b"Message-ID: <rita-2@example.net>\r\n\r\nHe did it again today.\r\n"
    )
    smtp_send(port, vouched(followup, REPORTER[1]), REPORTER[1], ["conduct@example.org"])
    stranger = followup.replace(b"Rita Reporter <rita@example.net>", b"Sam <sam@example.com>")
    stranger = stranger.replace(b"<rita-2@", b"<sam-1@")
    smtp_send(port, stranger, "sam@example.com", ["conduct@example.org"])
    forged = (
        b"From: Alice Chair <alice@example.org>\r\nTo: " + LIST.encode() + b"\r\n"
        b"Subject: Re: [CoC-2026-001] New report\r\nMessage-ID: <forged-1@example.com>\r\n"
        b"\r\n#close no-action\r\n"
    )
    smtp_send(port, via_list(forged), "alice@example.org", [LIST])


def test_serve_logs_each_message_and_mail_without_personal_data(logged_serve, relay):
    style, serve = logged_serve
    relay.refuse["rita@example.net"] = "550 5.1.1 <rita@example.net>: no such user here"
    send_conversation(serve.port)
    serve.wait_for_line("<sam-1@example.net>")
    serve.wait_for_line("forged-1@example.com")
    serve.wait_for_line("committee/delivery_problem")  # the failed ack's notice went out
    log = serve.stop()
    assert REPORTER[0] not in log and REPORTER[1] not in log
    assert "Rita" not in log and "sam@example.com" not in log
    assert "Traceback" not in log
    if style == "json":
        entries = [json.loads(line) for line in log.splitlines()]
        assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
        arrivals = {e["message_id"]: e for e in entries if "route" in e}
        assert arrivals["<plain-report-1@example.net>"] == {
            **arrivals["<plain-report-1@example.net>"],
            "level": "INFO", "case": "CoC-2026-001", "route": "report", "outcome": "opened",
        }  # fmt: skip
        assert arrivals["<rita-2@example.net>"]["route"] == "followup"
        held = arrivals["<sam-1@example.net>"]
        assert (held["level"], held["route"], held["outcome"]) == ("WARNING", "held", "held")
        assert "casebook held" in held["hint"]
        forged = arrivals["<forged-1@example.com>"]
        assert (forged["level"], forged["route"], forged["outcome"]) == (
            "WARNING", "command", "refused")  # fmt: skip
        assert "not authenticated" in forged["hint"]
        mail = [e for e in entries if "template" in e and e.get("outcome")]
        ack = next(e for e in mail if e["template"] == "reporter/ack")
        assert ack["level"] == "WARNING" and ack["outcome"] == "failed"
        assert f"casebook outbox retry {ack['outbox_id']}" in ack["msg"]
        assert "[address]" in ack["msg"]  # the relay's answer named Rita: scrubbed
        sent = {e["template"] for e in mail if e["outcome"] == "sent"}
        assert {"committee/new_case", "committee/delivery_problem"} <= sent
        cases = {e["template"]: e.get("case") for e in mail}
        assert cases.pop("committee/commands_refused") is None  # it names no case
        assert set(cases.values()) == {"CoC-2026-001"}
    else:
        lines = log.splitlines()
        report = [line for line in lines if "<plain-report-1@example.net>" in line]
        assert any(
            " INFO intake.process: in CoC-2026-001 report: opened" in line for line in report
        ), log
        assert any("WARNING intake.process: in CoC-2026-001 held: held" in line for line in lines)
        assert any(
            "WARNING intake.process: in CoC-2026-001 command: refused <forged-1@example.com>"
            in line
            for line in lines
        ), log
        failed = next(line for line in lines if "reporter/ack: failed" in line)
        assert "WARNING mailer.send: out CoC-2026-001" in failed
        assert "`casebook outbox retry " in failed
        assert any("committee/new_case: sent <cb-" in line for line in lines)


def test_a_relay_outage_is_one_warning_with_what_to_do(tmp_path):
    config = write_config(tmp_path, relay_port=free_port())  # nobody listens there
    report = fixture_bytes("plain_report.eml")
    stored = run_casebook(
        "-c", str(config), "--log-format", "json", "ingest", "--sender", REPORTER[1], stdin=report
    )
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
    assert " INFO mailer.send: out CoC-2026-001 reporter/ack: postponed <cb-" in verbose
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


def test_addresses_are_scrubbed_but_message_ids_kept():
    text = "550 <rita@example.net>: no; Bj\u00f6rn.o'k+x@m\u00fcnchen.example in <cb-1@example.org>"
    assert scrub_addresses(text, ("<cb-1@example.org>",)) == (
        "550 <[address]>: no; [address] in <cb-1@example.org>"
    )
