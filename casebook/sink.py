"""A local mail sink for `make run`: a relay that keeps every message in a maildir and says so.

Only for trying casebook on one machine; production points `[mailer.smtp]` at a real relay.
"""

from __future__ import annotations

import itertools
import mailbox
import os
import socket
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from aiosmtpd.smtp import SMTP

from archive.record.private_files import make_private_folders, write_private_file


class SinkHandler:
    def __init__(self, maildir: Path, echo=print):
        self.maildir = Path(maildir)
        make_private_folders(self.maildir.parent)
        mailbox.Maildir(str(self.maildir), create=True)  # it makes its folders 0700
        self.echo = echo
        self.count = itertools.count()

    def keep(self, raw: bytes) -> Path:
        """Deliver to the maildir as mailbox.Maildir would, but 0600 from the first byte."""
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self.count)}.{host}"
        write_private_file(self.maildir / "tmp" / name, raw)
        os.rename(self.maildir / "tmp" / name, self.maildir / "new" / name)
        return self.maildir / "new" / name

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        self.keep(raw)
        msg = message_from_bytes(raw, policy=default)
        self.echo(
            f"[sink] mail to {', '.join(envelope.rcpt_tos)}: {msg.get('Subject', '')}"
            f"{'  (reply to ' + str(msg['Reply-To']) + ')' if msg.get('Reply-To') else ''}"
        )
        return "250 2.0.0 Kept in the local sink"


def sink_factory(maildir: Path, echo=print):
    handler = SinkHandler(maildir, echo)
    return lambda: SMTP(handler, decode_data=False, enable_SMTPUTF8=True, ident="casebook-sink")
