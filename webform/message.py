"""What the form sends to intake: an RFC 5322 message, as mail would bring it (pure).

The fields become the labelled lines intake reads from any report ("Names: …", "Ongoing: not
sure"), the account last; screenshots are attachments under neutral names (a file's own name
can carry a time to the second). The message names nobody: From and the envelope sender are the
form's placeholder, the Date is to the minute, the Message-ID is random, no Received header.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from archive.arrivals.formpages import FORM_SENDER, KIND_HEADER, PAGE_HEADER, to_the_minute
from intake.fields import LABEL_RE, field_for_label
from webform.images import Screenshot

# The form's fields as the reporting guide words them: (name, label in the message).
FIELDS = (
    ("names", "Names"),
    ("witnesses", "Witnesses"),
    ("when", "When"),
    ("where", "Where"),
    ("ongoing", "Ongoing"),
    ("police", "Law enforcement"),
    ("links", "Links"),
    ("contact", "Contact"),
    ("other", "Other"),
    ("account", "Account"),
)
ONGOING = ("yes", "no", "not sure")


def report_text(values: dict[str, str]) -> str:
    """The labelled lines intake reads; fields left empty are left out."""
    lines = []
    for name, label in FIELDS:
        value = (values.get(name) or "").strip()
        if not value:
            continue
        if name == "account":
            lines += ["", f"{label}:", *_guarded(value)]
        elif name in ("other", "links"):
            first, *rest = _guarded(value)
            lines += [f"{label}: {first}", *rest]
        else:
            lines.append(f"{label}: {' '.join(value.split())}")
    return "\n".join(lines).strip() + "\n"


def _guarded(value: str) -> list[str]:
    """A multi-line answer's lines; one that would read as another field's label ("Where: at
    home" in the account) is marked so that it stays in its own field."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    for line in lines:
        match = LABEL_RE.match(line)
        out.append(f"| {line}" if match and field_for_label(match.group("label")) else line)
    return out or [""]


def build_message(
    *,
    kind: str,
    text: str,
    page_hash: str,
    reports: str,
    now: datetime,
    screenshots: tuple[Screenshot, ...] = (),
) -> bytes:
    """The report (`kind` "report") or a reply from a follow-up page ("follow-up") as bytes."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Anonymous (web form) <{FORM_SENDER}>"
    msg["To"] = reports
    msg["Subject"] = "Report from the web form" if kind == "report" else "Reply from the web form"
    msg["Date"] = format_datetime(to_the_minute(now))
    msg["Message-ID"] = f"<form-{secrets.token_hex(16)}@form.invalid>"
    msg[KIND_HEADER] = kind
    msg[PAGE_HEADER] = page_hash
    msg.set_content(text, charset="utf-8")
    for number, shot in enumerate(screenshots, 1):
        maintype, subtype = shot.content_type.split("/")
        msg.add_attachment(
            shot.data,
            maintype=maintype,
            subtype=subtype,
            filename=f"screenshot-{number}.{shot.extension}",
        )
    return msg.as_bytes()
