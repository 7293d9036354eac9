"""What a bounce may tell the committee: its recipient, action and status code. Pure.

Anyone can write a bounce (the bounce address is in every mail casebook sends), so none of
its free text is ever quoted: not the human-readable part, not `Diagnostic-Code`,
`X-Postfix-Sender` or any other line a forger fills in. Each value shown is checked against
RFC 3464's grammar for it, and what does not fit is left out.
"""

from __future__ import annotations

import re

from archive.record.address_grammar import bracketed_address

FIELD_RE = re.compile(r"(?im)^(final-recipient|original-recipient|action|status)[ \t]*:[ \t]*(.*)$")
ADDRESS_TYPE_RE = re.compile(r"(?i)^rfc822[ \t]*;[ \t]*")
ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
STATUS_RE = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")
NONE_FOUND = "(the bounce carried no delivery-status fields casebook could read)"


def dsn_summary(raw: bytes) -> str:
    """The bounce's recipient, action and status code, as checked values, never its text."""
    found: dict[str, str] = {}
    for name, value in FIELD_RE.findall(raw.decode("utf-8", "replace").replace("\r\n", "\n")):
        name, value = name.lower(), value.strip()
        if name.endswith("recipient"):
            address = bracketed_address(ADDRESS_TYPE_RE.sub("", value, count=1))
            if address:
                found.setdefault("recipient", f"Final-Recipient: rfc822; {address}")
        elif name == "action" and value.lower() in ACTIONS:
            found.setdefault("action", f"Action: {value.lower()}")
        elif name == "status" and STATUS_RE.match(value):
            found.setdefault("status", f"Status: {STATUS_RE.match(value).group(1)}")
    lines = [found[key] for key in ("recipient", "action", "status") if key in found]
    return "\n".join(lines) or NONE_FOUND
