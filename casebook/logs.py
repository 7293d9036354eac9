"""Logging for operators: one line per event, as text or as JSON, and no personal data.

Modules log with the standard library and put what an operator filters on in `extra`
(`case`, `route`, `template`, `outcome`, …); these become fields of the JSON line. A message
is named by the archive's own number (`message_number`), an outgoing mail by its outbox
item, never by a Message-ID (a sender's carries their domain). Every address-like word in a
line's text is replaced by `[address]`, a net under the rule that no log call names a person.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from archive.record.address_grammar import hide_addresses

# Structured fields a log call may pass in `extra`, in the order JSON lines show them.
FIELDS = (
    "case",
    "route",
    "template",
    "outcome",
    "message_number",
    "reason",
    "outbox_id",
    "attempts",
    "hint",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def scrub_addresses(text: str) -> str:
    """`text` with every mail address (and so every Message-ID) replaced by `[address]`."""
    return hide_addresses(text, "[address]")


def _fields(record: logging.LogRecord) -> dict:
    values = {name: getattr(record, name, None) for name in FIELDS}
    return {name: value for name, value in values.items() if value is not None}


class ScrubbingFormatter(logging.Formatter):
    """The usual text line, with addresses scrubbed from it."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub_addresses(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub_addresses(record.getMessage()),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = scrub_addresses(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(*, json_lines: bool, level: int, verbose: bool) -> None:
    """Log to stderr (journald takes it from there) in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ScrubbingFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosmtpd logs every SMTP command at INFO; that is protocol noise, and may carry addresses.
    logging.getLogger("mail.log").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # mail-parser warns about every part type it does not decode; casebook keeps them anyway.
    logging.getLogger("mailparser").setLevel(logging.DEBUG if verbose else logging.ERROR)
