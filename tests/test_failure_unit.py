"""casebook-failed@.service end to end: its command line, read from the unit file as systemd
reads it, run with a stand-in `systemctl` and the private Postfix's real `sendmail`; the mail
goes through Postfix's queue to the relay sink, as an operator's would go to root's alias."""

from __future__ import annotations

import email.policy
import os
import socket
import subprocess
from email.parser import BytesParser

import pytest

from tests.conftest import ROOT
from tests.test_postfix import POSTFIX, PrivatePostfix, wait_for
from tests.test_postfix import base as base  # the private Postfix's folder, reachable by it

UNIT = ROOT / "systemd" / "casebook-failed@.service"
FAILED = "casebook.service"  # OnFailure=casebook-failed@%n.service: %i is the failed unit
# What `systemctl status --full --no-pager --lines=30 casebook.service` shows: casebook's own
# log lines name cases and outbox numbers, never people.
STATUS = """\
× casebook.service - casebook, a Code of Conduct committee's casework by mail
     Loaded: loaded (/etc/systemd/system/casebook.service; enabled; preset: enabled)
     Active: failed (Result: exit-code) since Tue 2026-12-08 00:40:00 UTC; 1s ago
    Process: 4242 ExecStart=/opt/casebook/venv/bin/casebook -c /etc/casebook/casebook.toml serve (code=exited, status=1/FAILURE)
Dec 08 00:39:59 vm casebook[4242]: out CoC-2026-017 reporter/ack: failed outbox 12
Dec 08 00:40:00 vm systemd[1]: casebook.service: Failed with result 'exit-code'.
"""  # noqa: E501 - systemctl --full does not wrap
ESCAPES = {"\\": "\\", "n": "\n", "t": "\t", '"': '"', "'": "'", " ": " "}


def unit_words(line: str) -> list[str]:
    """One command line split as systemd splits ExecStart= (quotes removed, C escapes
    resolved inside and outside quotes); what this unit does not use is refused."""
    words: list[str] = []
    word, quote, i, started = "", None, 0, False
    while i < len(line):
        c = line[i]
        if c == "\\":
            assert line[i + 1] in ESCAPES, f"escape \\{line[i + 1]} not handled here"
            word, i, started = word + ESCAPES[line[i + 1]], i + 2, True
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                word += c
        elif c in "'\"":
            quote, started = c, True
        elif c.isspace():
            if started:
                words.append(word)
            word, started = "", False
        else:
            word, started = word + c, True
        i += 1
    assert quote is None, line
    return [*words, word] if started else words


def specifiers(word: str, instance: str) -> str:
    """%i and %% (the only specifiers the unit uses), as systemd resolves them per word."""
    parts = word.split("%%")
    for part in parts:
        assert "%" not in part.replace("%i", ""), f"specifier not handled here: {word}"
    return "%".join(part.replace("%i", instance) for part in parts)


def unit_setting(name: str) -> str:
    lines = UNIT.read_text().splitlines()
    [value] = [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]
    return value


def test_the_unit_line_is_split_as_systemd_splits_it():
    assert unit_words(r"""/bin/sh -c 'a "b" \\n %%s' x""") == [
        "/bin/sh",
        "-c",
        'a "b" \\n %%s',
        "x",
    ]
    assert specifiers("%%s failed: %i", "casebook.service") == "%s failed: casebook.service"


@pytest.mark.skipif(not POSTFIX.exists(), reason="Postfix is not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="a private Postfix instance needs root")
def test_the_failure_unit_mails_the_failed_units_status_through_sendmail(base, tmp_path, relay):
    argv = [specifiers(w, FAILED) for w in unit_words(unit_setting("ExecStart"))]
    assert argv[0] == "/bin/sh" and argv[-2:] == ["sh", FAILED]
    assert "/usr/sbin/sendmail" not in argv[2]  # found on the unit's PATH, so a test can choose
    path = unit_setting("Environment").removeprefix("PATH=")
    assert "/usr/sbin" in path.split(":")  # where Postfix's sendmail is
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    systemctl = stand_ins / "systemctl"
    calls = tmp_path / "systemctl.args"
    systemctl.write_text(f'#!/bin/sh\necho "$@" > {calls}\ncat <<"END"\n{STATUS}END\n')
    systemctl.chmod(0o755)
    postfix = PrivatePostfix(base, relay.port, "")
    postfix.start()
    try:
        env = {"PATH": f"{stand_ins}:{path}", "MAIL_CONFIG": str(postfix.config_dir)}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert calls.read_text().split() == ["status", "--full", "--no-pager", "--lines=30", FAILED]
        wait_for(relay, "root@mx.example.org", "failed on", postfix)
        postfix.wait_empty()
    finally:
        postfix.stop()
    raw = [raw for _, rcpts, raw, _ in relay.messages if "root@mx.example.org" in rcpts][0]
    raw = raw.replace(b"\r\n", b"\n")  # as SMTP carried it, in the parser's line ends
    message = BytesParser(policy=email.policy.strict).parsebytes(raw)  # a defect would raise
    assert message["Subject"] == f"casebook: {FAILED} failed on {socket.gethostname()}"
    assert message["Message-ID"] and message["Date"] and not message.defects
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message.get_content() == STATUS  # the status as systemctl shows it, nothing added
    # It names nobody: root (whom the operator aliases) in its headers, the unit and the host
    # in its subject, and the log lines casebook writes (cases, outbox numbers) below.
    addresses = [
        address.addr_spec
        for header in ("From", "To", "Cc", "Sender", "Reply-To")
        for address in getattr(message[header], "addresses", ())
    ]
    assert addresses and all(a.startswith("root@") for a in addresses), addresses
