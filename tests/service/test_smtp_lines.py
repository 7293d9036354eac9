"""Long lines and bare-LF line ends reach the archive; only <CR><LF>.<CR><LF> ends DATA.

Web-form scripts and some mailers send lines over 1,000 octets or end lines in a bare LF.
casebook takes them the way Postfix's `smtpd_forbid_bare_newline = normalize` does, and
never lets a look-alike end of DATA split one message into two (SMTP smuggling).
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiosmtpd.controller import Controller

from archive.record.db import open_archive
from casebook.config import load_settings
from intake.process import process_spooled
from intake.smtp import make_protocol_factory, read_data
from intake.spool import SpoolWriter, open_spool, spool_path
from tests.service.test_service import converse
from tests.support.base import T0, free_port, write_config

HEADERS = (
    b"From: Rita <rita@example.net>\r\n"
    b"To: conduct@example.org\r\n"
    b"Subject: Problem on the users list\r\n"
    b"Message-ID: <lines-1@example.net>\r\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n"
    b"\r\n"
)


class IntakeController(Controller):
    """casebook's own protocol factory (SMTP or LMTP per the config) on a loopback port."""

    def __init__(self, settings, spool):
        super().__init__(None, hostname="127.0.0.1", port=free_port())
        self.make_protocol = make_protocol_factory(settings, spool, hostname="casebook.test")

    def factory(self):
        return self.make_protocol()


class Intake:
    def __init__(self, directory, lmtp: bool, **config):
        self.lmtp = lmtp
        self.settings = load_settings(write_config(directory, lmtp=lmtp, **config))
        self.spool = SpoolWriter(spool_path(self.settings))
        self.controller = IntakeController(self.settings, self.spool)

    def __enter__(self):
        self.spool.start()
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
        self.spool.stop()

    def send(
        self, data: bytes, recipients: tuple[str, ...] = ("conduct@example.org",)
    ) -> list[str]:
        """One transaction with `data` sent as is after the 354, then QUIT: the reply codes."""
        hello = b"LHLO" if self.lmtp else b"EHLO"
        commands = [hello + b" form.example.net", b"MAIL FROM:<rita@example.net>"]
        commands += [f"RCPT TO:<{rcpt}>".encode() for rcpt in recipients] + [b"DATA"]
        with socket.create_connection(("127.0.0.1", self.controller.port), timeout=10) as sock:
            replies = converse(sock, commands)
            assert replies[-1].startswith(b"354"), replies
            sock.sendall(data + b"QUIT\r\n")
            return reply_codes(read_to_end(sock))

    def spooled(self) -> list[bytes]:
        spool = open_spool(spool_path(self.settings))
        try:
            return [row[0] for row in spool.execute("SELECT raw FROM spooled ORDER BY id")]
        finally:
            spool.close()


def read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def reply_codes(transcript: bytes) -> list[str]:
    """The code of each complete reply (a line with a space after the code ends a reply)."""
    lines = transcript.decode("ascii", "replace").split("\r\n")
    return [line[:3] for line in lines if line[3:4] == " "]


@pytest.fixture(params=[False, True], ids=["smtp", "lmtp"])
def intake(request, tmp_path):
    with Intake(tmp_path, lmtp=request.param) as running:
        yield running


@pytest.mark.parametrize("length", [5_000, 200_000])
def test_a_long_line_is_stored_intact(intake, length):
    message = HEADERS + b"Before.\r\n" + b"x" * length + b"\r\nAfter.\r\n"
    assert intake.send(message + b".\r\n") == ["250", "221"]
    assert intake.spooled() == [message]


def test_a_bare_lf_message_becomes_a_case_with_its_text_intact(intake):
    lines = [f"Line {n:02}: the moderator deleted my posts again and mocked me." for n in range(50)]
    body = "\n".join(lines).encode() + b"\n"
    message = HEADERS.replace(b"\r\n", b"\n") + body
    assert len(message) > 3000
    assert intake.send(message + b"\r\n.\r\n") == ["250", "221"]
    # Processed as if every line had ended in CR LF; the blank line before the dot is the
    # one the sender's last LF ended.
    assert intake.spooled() == [message.replace(b"\n", b"\r\n") + b"\r\n"]
    spool, db = open_spool(spool_path(intake.settings)), open_archive(intake.settings.database)
    [result] = process_spooled(db, spool, intake.settings, lambda: T0)
    [text] = db.execute(
        "SELECT body_text FROM messages WHERE id = ?", [result.message_pk]
    ).fetchone()
    spool.close()
    db.close()
    assert result.case_ref == "CoC-2026-001"
    assert text.split("\n")[: len(lines)] == lines


def test_mixed_line_ends_and_a_long_line_keep_dot_transparency(intake):
    data = HEADERS + b"short\n" + b"y" * 3000 + b"\n..a line that began with a dot\r\n.\r\n"
    assert intake.send(data) == ["250", "221"]
    expected = HEADERS + b"short\r\n" + b"y" * 3000 + b"\r\n.a line that began with a dot\r\n"
    assert intake.spooled() == [expected]


SMUGGLED = (
    b"MAIL FROM:<alice@example.org>\r\n"
    b"RCPT TO:<conduct@example.org>\r\n"
    b"DATA\r\n"
    b"From: Alice Chair <alice@example.org>\r\n"
    b"Subject: smuggled\r\n"
    b"\r\n"
    b"#close\r\n"
)


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n"],
    ids=["LF.LF", "CR.CR", "LF.CRLF", "CRLF.LF"],
)
def test_a_look_alike_end_of_data_does_not_smuggle_a_second_message(intake, fake_end):
    data = HEADERS + b"first part" + fake_end + SMUGGLED + b".\r\n"
    assert intake.send(data) == ["250", "221"]  # one message, then QUIT: no 250s for MAIL, RCPT
    [stored] = intake.spooled()
    assert stored.startswith(HEADERS + b"first part")
    assert stored.endswith(b"Subject: smuggled\r\n\r\n#close\r\n")
    assert b"MAIL FROM:<alice@example.org>" in stored


@pytest.mark.parametrize("lmtp", [False, True], ids=["smtp", "lmtp"])
def test_a_line_over_the_size_limit_gets_552_and_the_session_goes_on(tmp_path, lmtp):
    two = ("conduct@example.org", "conduct-appeals@example.org")
    answers = 2 if lmtp else 1  # LMTP answers DATA once per recipient
    with Intake(tmp_path, lmtp=lmtp, max_message_size=20_000) as intake:
        huge = HEADERS + b"z" * 2_000_000 + b"\r\n.\r\n"
        assert intake.send(huge, two) == ["552"] * answers + ["221"]
        assert intake.send(HEADERS + b"z" * 19_000 + b"\r\n.\r\n", two) == ["250"] * answers + [
            "221"
        ]
        assert len(intake.spooled()) == 1


def test_a_long_command_line_is_refused_without_hanging(intake):
    with socket.create_connection(("127.0.0.1", intake.controller.port), timeout=10) as sock:
        replies = converse(sock, [b"NOOP " + b"n" * 100_000, b"QUIT"])
    assert [reply[:3] for reply in replies] == [b"220", b"500", b"221"]


def test_a_cr_lf_split_between_pieces_of_a_long_line_still_ends_the_line():
    async def scenario():
        reader = asyncio.StreamReader(limit=16)  # lines longer than 16 octets come in pieces
        reader.feed_data(b"x" * 40 + b"\r")
        reading = asyncio.create_task(read_data(reader, 1000))
        # The behaviour under test: the reader has taken the first piece when the rest comes
        # (one turn of the loop, not a wait).
        await asyncio.sleep(0)  # the behaviour under test
        reader.feed_data(b"\n.\r\n")
        return await asyncio.wait_for(reading, 5)

    assert asyncio.run(scenario()) == b"x" * 40 + b"\r\n"
