"""The SMTP/LMTP edge: check recipients, spool durably, answer. Nothing else happens here but
the proof, for a member's address past its sender limit, that the mail is theirs (their
reply address or DKIM: the members' own flood budget, `intake/limits.py`)."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from archive.record.models import RouteKind
from archive.record.settings import Settings
from archive.record.timestamps import utc_now
from intake.addresses import route_recipient
from intake.auth import proves_member
from intake.limits import CLOSING, SESSION_REFUSALS, Gate
from intake.spool import SpoolClosed, SpoolWriter

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = "451 4.3.0 Message not stored; please try again later"
TOO_BIG = "552 5.3.4 Message too big for system"
# The stream reader's buffer, and so the longest command line. DATA lines may be longer:
# they are read in pieces of this size.
READ_LIMIT = 64 * 1024
# aiosmtpd's DATA reader is not a method of its own, so IntakeSMTP replaces smtp_DATA whole,
# with these of its private names (and one more to refuse a connection before its greeting).
# aiosmtpd is pinned to this exact version (pyproject.toml); tests/unit/test_aiosmtpd_pin.py fails
# loudly, naming them, on any other version or when one is missing.
AIOSMTPD_VERSION = "1.4.6"
AIOSMTPD_PRIVATE_NAMES = (
    "_reader",
    "_reset_timeout",
    "_call_handler_hook",
    "_set_post_data_state",
    "_handler_coroutine",
)


class IntakeHandler:
    """aiosmtpd hooks: 550 for addresses casebook does not serve, 451 4.7.1 past the flood
    limits (`intake/limits.py`), 250 only once durable."""

    def __init__(
        self,
        settings: Settings,
        spool: SpoolWriter,
        lmtp: bool = False,
        gate: Gate | None = None,
        clock: Callable[[], float] = time.monotonic,
        token_owner: Callable[[str], str | None] | None = None,
    ):
        self.settings = settings
        self.spool = spool
        self.lmtp = lmtp
        self.gate = gate or Gate(settings.limits)
        self.clock = clock
        self.token_owner = token_owner  # whose a reply address's token is (an address), if any

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        kind = route_recipient(address, self.settings).kind
        if kind is RouteKind.UNKNOWN:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        charged = envelope.__dict__.setdefault("charged_classes", set())
        sender = envelope.mail_from or ""
        member = self.settings.person_for(sender) is not None
        refusal = self.gate.recipient(sender, kind, charged, self.clock(), utc_now(), member=member)
        if refusal is not None:
            return await self._refused(server, session, refusal)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def _refused(self, server: SMTP, session: Session, refusal) -> str:
        """A flood limit's 451 4.7.1, after the tarpit's delay (the tenth in a connection
        closes it); the first refusal of a flood is spooled for the committee's alert."""
        if refusal.flood is not None:
            flood = refusal.flood
            # No address in the log: the committee's alert names the sender.
            log.warning(
                "flood at the %s addresses (%s): refusing with 451 4.7.1; the committee"
                " is told once",
                flood.address_class,
                "one sender over its limit" if flood.reason == "sender" else "all senders",
            )
            self.spool.note_flood(flood)
        await asyncio.sleep(self.settings.limits.refusal_delay.total_seconds())
        refused = session.__dict__["refusals"] = session.__dict__.get("refusals", 0) + 1
        if refused >= SESSION_REFUSALS and server.transport is not None:
            # Written before the loop runs the close, which sends what is buffered first.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return CLOSING
        return refusal.reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        charged = envelope.__dict__.get("charged_classes", set())
        if self.gate.needs_proof(charged):  # a member's address past the sender limit
            proved = await asyncio.to_thread(
                proves_member,
                raw,
                envelope.mail_from or "",
                tuple(envelope.rcpt_tos),
                self.settings,
                self.token_owner,
            )
            refusal = self.gate.message(
                envelope.mail_from or "", proved, charged, self.clock(), utc_now()
            )
            if refusal is not None:
                return self._status(envelope, await self._refused(server, session, refusal))
        try:
            await self.spool.store(
                raw,
                envelope.mail_from or "",
                tuple(envelope.rcpt_tos),
                "lmtp" if self.lmtp else "smtp",
            )
        except Exception as exc:  # storage trouble is ours: the sender must retry, never bounce
            # Once intake is stopping, the reason was logged once; each 451 is only a warning.
            level = logging.WARNING if isinstance(exc, SpoolClosed) else logging.ERROR
            log.log(level, "could not spool a message (answered 451): %s", exc)
            return self._status(envelope, TEMPORARY_FAILURE)
        return self._status(envelope, "250 2.0.0 Message stored")

    def _status(self, envelope: Envelope, line: str) -> str:
        # LMTP answers DATA once per recipient.
        if self.lmtp:
            return "\r\n".join(line for _ in envelope.rcpt_tos)
        return line


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP, reading DATA as Postfix's `smtpd_forbid_bare_newline = normalize` does.

    aiosmtpd (1.4.6, pinned) answers 500 to a DATA line over RFC 5321's 1,000 octets and needs CR LF
    to end a line; web-form scripts and some mailers send longer lines and bare LFs, and their
    reports would bounce. Here a line may be as long as a whole message (552 beyond), a line
    ending in a bare LF is taken as if it ended in CR LF, and still only <CR><LF>.<CR><LF>
    ends DATA. Any other "end" (<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF>) is content:
    taking it as the end would read the rest as commands, a second message smuggled in by
    the sender of the first (CVE-2023-51766 and its kin). aiosmtpd's DATA reader is not a
    method of its own, so smtp_DATA is replaced whole.
    """

    line_length_limit = READ_LIMIT

    def __init__(self, handler, *args, gate: Gate | None = None, **kwargs):
        super().__init__(handler, *args, **kwargs)
        self.gate = gate
        self.client: str | None = None  # counted by the gate while connected
        self.reading_data = False
        self.connected = False  # made once; again after STARTTLS, over TLS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starttls, self.connected = self.connected, True
        super().connection_made(transport)
        if starttls or self.gate is None:
            return  # the same connection, now over TLS: counted once
        peer = transport.get_extra_info("peername")
        client = peer[0] if isinstance(peer, tuple) else str(peer)
        refusal = self.gate.connect(client)
        if refusal is None:
            self.client = client
            return
        if self.gate.should_log_refused_connection(time.monotonic()):
            log.warning(
                "refusing connections: %s (%d so far; logged once a minute)",
                refusal[10:],
                self.gate.refused_connections,
            )
        self._handler_coroutine.cancel()  # never greeted: the 421 is the whole conversation
        transport.write(refusal.encode() + b"\r\n")
        transport.close()

    def data_received(self, data: bytes) -> None:
        # In DATA, each line that arrives restarts the idle timeout (DATA is read in pieces,
        # not line by line): a long message on a slow link is not cut off, a client that
        # stops sending is.
        if self.reading_data and b"\n" in data:
            self._reset_timeout()
        super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        if self.client is not None and self.gate is not None:
            self.gate.disconnect(self.client)
            self.client = None
        super().connection_lost(error)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self.reading_data = True
        try:
            content = await read_data(self._reader, self.data_size_limit)
        finally:
            self.reading_data = False
        if content is None:
            log.info(
                "refused a message over max_message_size (%d bytes) with 552; its sender"
                " is told; raise [intake] max_message_size to take bigger mail",
                self.data_size_limit,
            )
            await self.answer_data(TOO_BIG)
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def answer_data(self, reply: str) -> None:
        await self.push(reply)


class IntakeLMTP(IntakeSMTP, LMTP):
    """The same DATA, with LMTP's greeting."""

    async def answer_data(self, reply: str) -> None:
        # LMTP answers DATA once per recipient (the handler does so for its own replies).
        await self.push("\r\n".join(reply for _ in self.envelope.rcpt_tos))


LAST_LINE = b".\r\n"  # the end of DATA, when it comes right after a CR LF (or first)


async def read_data(
    reader: asyncio.StreamReader, size_limit: int, progress: Callable[[], None] | None = None
) -> bytes | None:
    """The message up to <CR><LF>.<CR><LF>, dot-unstuffed, lines ending CR LF; None if too big.

    It is read in pieces up to the reader's limit, never line by line: a message of 220,000
    short lines is some 400 reads, and the loop answers other sessions meanwhile. Past the
    size limit the rest is still read to the end of DATA, keeping nothing, so that the 552
    comes in step and the session can go on.
    """
    data = bytearray()
    tail = b"\r\n"  # the last two octets read (the DATA command ended the line before)
    kept_at_most = 2 * size_limit + len(LAST_LINE)  # bare LFs become CR LF: up to twice
    too_big = False
    while True:
        try:
            piece = await reader.readuntil(LAST_LINE)
        except asyncio.LimitOverrunError as overrun:  # a long stretch without ".\r\n"
            piece = await reader.read(overrun.consumed)
        if progress is not None:
            progress()
        ends = piece.endswith(LAST_LINE) and (tail + piece)[-5:-3] == b"\r\n"
        tail = (tail + piece)[-2:]
        if not too_big:
            data += piece
            too_big = len(data) > kept_at_most
        if ends:
            break
    if too_big:
        return None
    content = _normalized(bytes(memoryview(data)[: -len(LAST_LINE)]))
    return None if len(content) > size_limit else content


def _normalized(data: bytes) -> bytes:
    """Dot-unstuffed (RFC 5321 4.5.2), every line ending in CR LF (a bare LF taken as one).

    Byte replacements, not a pattern per line: 25 MB take some 50 ms of the event loop."""
    if data.startswith(b"."):
        data = data[1:]
    data = data.replace(b"\n.", b"\n")
    if data.count(b"\n") != data.count(b"\r\n"):  # bare LFs
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def make_protocol_factory(
    settings: Settings,
    spool: SpoolWriter,
    hostname: str | None = None,
    *,
    token_owner: Callable[[str], str | None] | None = None,
):
    """A factory for `loop.create_server`: SMTP or LMTP per the configuration. `token_owner`
    says whose a reply address's token is (for the members' budget at the flood limits)."""
    gate = Gate(settings.limits)  # one for all connections of this process
    handler = IntakeHandler(settings, spool, lmtp=settings.lmtp, gate=gate, token_owner=token_owner)
    tls_context = None
    if settings.tls_cert and settings.tls_key:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    protocol = IntakeLMTP if settings.lmtp else IntakeSMTP
    hostname = hostname or socket.getfqdn()  # once, not per connection as aiosmtpd would

    def factory():
        return protocol(
            handler,
            data_size_limit=settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            tls_context=tls_context,
            require_starttls=False,
            ident="casebook",
            timeout=settings.limits.timeout.total_seconds(),
            gate=gate,
        )

    return factory
