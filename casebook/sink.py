"""A local mail sink for `make run`: a relay that keeps every message in a maildir and says so.

Only for trying casebook on one machine; production points `[mailer.smtp]` at a real relay.
"""

from __future__ import annotations

import mailbox
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from aiosmtpd.smtp import SMTP


class SinkHandler:
    def __init__(self, maildir: Path, echo=print):
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(str(maildir), create=True)
        self.echo = echo

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        self.box.add(raw)
        msg = message_from_bytes(raw, policy=default)
        self.echo(
            f"[sink] mail to {', '.join(envelope.rcpt_tos)}: {msg.get('Subject', '')}"
            f"{'  (reply to ' + str(msg['Reply-To']) + ')' if msg.get('Reply-To') else ''}"
        )
        return "250 2.0.0 Kept in the local sink"


def sink_factory(maildir: Path, echo=print):
    handler = SinkHandler(maildir, echo)
    return lambda: SMTP(handler, decode_data=False, enable_SMTPUTF8=True, ident="casebook-sink")
