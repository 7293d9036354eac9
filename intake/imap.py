"""The IMAP poller: new mail in a mailbox (e.g. casebook's list subscription) into the spool.

Messages are fetched without marking them read, spooled together with the last UID reached
(one commit), and only then flagged \\Seen: a crash anywhere re-fetches at most one batch,
which the archive dedupes by Message-ID. A changed UIDVALIDITY starts the mailbox over.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import ssl
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from archive.record.settings import Imap, Settings
from intake.addresses import stored_envelope_sender
from intake.spool import Arrival, spool_arrivals

log = logging.getLogger(__name__)
BATCH = 50


class ImapUnavailable(Exception):
    """The mailbox could not be read now; the next poll tries again."""


def mailbox_key(imap: Imap) -> str:
    return f"{imap.username}@{imap.host}:{imap.port}/{imap.folder}"


def poll_imap(settings: Settings, spool: sqlite3.Connection, now: datetime) -> int:
    """Fetch what is new since the last poll into the spool; how many messages."""
    imap = settings.imap
    if imap is None:
        return 0
    recipient = imap.recipient or settings.list_subscriber or settings.committee_list
    cafile = str(imap.ca_file) if imap.ca_file else None
    try:
        context = ssl.create_default_context(cafile=cafile)
        client = IMAPClient(
            imap.host, port=imap.port, ssl=imap.ssl, ssl_context=context, timeout=imap.timeout
        )
    except (TimeoutError, OSError, ssl.SSLError, IMAPClientError) as exc:
        raise ImapUnavailable(f"cannot connect to {imap.host}:{imap.port}: {exc}") from None
    try:
        if imap.starttls:
            client.starttls(context)
        client.login(imap.username, imap.password() or "")
        return _fetch_new(client, imap, spool, recipient, now)
    except (OSError, IMAPClientError) as exc:
        raise ImapUnavailable(f"IMAP {imap.host}: {exc}") from None
    finally:
        with contextlib.suppress(OSError, IMAPClientError):
            client.logout()


def _fetch_new(client, imap: Imap, spool, recipient: str, now: datetime) -> int:
    key = mailbox_key(imap)
    info = client.select_folder(imap.folder)
    validity = int(info[b"UIDVALIDITY"])
    row = spool.execute(
        "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?", [key]
    ).fetchone()
    last = row[1] if row and row[0] == validity else 0
    uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
    fetched = 0
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        data = client.fetch(batch, ["BODY.PEEK[]"])
        arrivals = [
            Arrival(raw, stored_envelope_sender(raw), (recipient,), "imap", now)
            for raw in (data[uid][b"BODY[]"] for uid in batch if b"BODY[]" in data.get(uid, {}))
        ]
        state = (
            "INSERT INTO imap_state (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)"
            " ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
            " last_uid = excluded.last_uid",
            [key, validity, batch[-1]],
        )
        spool_arrivals(spool, arrivals, also=state)
        client.add_flags(batch, [b"\\Seen"])
        fetched += len(arrivals)
    return fetched
