"""Casebook's own mail sent back whole, as a naive out-of-office responder does.

Such a responder sets no Auto-Submitted and no Precedence, and may keep no In-Reply-To; what
gives it away is that the text it wrote "now" is a mail casebook sent, line for line. A person
quotes with `>`, an attribution or a header block, which the reply reader cuts away first; a
header block it missed (a client in a language it does not know) still names the subject of
the mail it quotes, which a responder pasting the body alone never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.cases import Case
from archive.record.models import IncomingMessage

MIN_LINES = 3  # a mail shorter than this proves nothing by being repeated
SHARE = 0.8  # of casebook's lines found in the sender's own text
RECENT = 10  # casebook's latest mails in the case that an answer may paste back


def _lines(text: str) -> list[str]:
    """Non-blank lines outside `>` quotes, with their whitespace evened out."""
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(">")
    ]


def pastes_back(text: str, sent: str, subject: str = "") -> bool:
    """Whether `text` (what a sender wrote now) holds `sent` (casebook's mail, whose subject
    was `subject`) whole, with no header block naming that subject above it."""
    wanted = [line for line in _lines(sent) if len(line) >= 8]
    if len(wanted) < MIN_LINES:
        return False
    have = _lines(text)
    subject = " ".join(subject.split())
    if subject and any(subject in line for line in have):
        return False  # a client's quote of the mail, headers and all
    found = set(have)
    return sum(line in found for line in wanted) >= SHARE * len(wanted)


def echoes_own_mail(db: Database, msg: IncomingMessage, case: Case) -> bool:
    """Whether `msg`'s new text is one of casebook's latest mails in `case`, pasted back."""
    if not msg.authored.strip():
        return False
    rows = db.execute(
        "SELECT body_text, subject FROM messages WHERE case_pk = ? AND direction = 'out'"
        " ORDER BY id DESC LIMIT ?",
        [case.pk, RECENT],
    )
    return any(pastes_back(msg.authored, row[0] or "", row[1] or "") for row in rows)
