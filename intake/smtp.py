"""The SMTP/LMTP edge: check recipients, spool durably, answer. Nothing else happens here."""

from __future__ import annotations

import logging
import socket
import ssl

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from archive.models import RouteKind
from archive.settings import Settings
from intake.addresses import route_recipient
from intake.spool import SpoolClosed, SpoolWriter

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = "451 4.3.0 Message not stored; please try again later"


class IntakeHandler:
    """aiosmtpd hooks: 550 for addresses casebook does not serve, 250 only once durable."""

    def __init__(self, settings: Settings, spool: SpoolWriter, lmtp: bool = False):
        self.settings = settings
        self.spool = spool
        self.lmtp = lmtp

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        if route_recipient(address, self.settings).kind is RouteKind.UNKNOWN:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
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
            log.log(level, "could not spool a message from %r: %s", envelope.mail_from, exc)
            return self._status(envelope, TEMPORARY_FAILURE)
        return self._status(envelope, "250 2.0.0 Message stored")

    def _status(self, envelope: Envelope, line: str) -> str:
        # LMTP answers DATA once per recipient.
        if self.lmtp:
            return "\r\n".join(line for _ in envelope.rcpt_tos)
        return line


def make_protocol_factory(settings: Settings, spool: SpoolWriter, hostname: str | None = None):
    """A factory for `loop.create_server`: SMTP or LMTP per the configuration."""
    handler = IntakeHandler(settings, spool, lmtp=settings.lmtp)
    tls_context = None
    if settings.tls_cert and settings.tls_key:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    protocol = LMTP if settings.lmtp else SMTP
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
        )

    return factory
