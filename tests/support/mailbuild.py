"""Building members' replies as their mail servers would send them: DKIM-signed."""

from __future__ import annotations

from pathlib import Path

import dkim

KEYS = Path(__file__).resolve().parents[1] / "fixtures" / "dkim"
SIGNED = (b"from", b"to", b"subject", b"message-id", b"date", b"in-reply-to", b"references")


def pinned_keys_toml() -> str:
    """The [security] additions that pin the test keys (as DNS would serve them)."""
    lines = ["[security.dkim_pinned_keys]"]
    for domain in ("example.org", "lists.example.org"):
        public = (KEYS / f"{domain}.pub").read_text().strip()
        lines.append(f'"test._domainkey.{domain}" = "v=DKIM1; k=rsa; p={public}"')
    return "\n".join(lines) + "\n"


def build(
    *,
    sender: str = "Alice Chair <alice@example.org>",
    to: str = "conduct-committee@lists.example.org",
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    extra_headers: tuple[str, ...] = (),
) -> bytes:
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    headers.append("Date: Mon, 2 Mar 2026 12:00:00 +0000")
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append("References: " + " ".join(references))
    headers += list(extra_headers)
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def sign(
    raw: bytes,
    domain: str = "example.org",
    headers: tuple[bytes, ...] = SIGNED,
    length: bool = False,
) -> bytes:
    key = (KEYS / f"{domain}.key").read_bytes()
    include = [h for h in headers if h == b"from" or h.decode() + ":" in raw.decode().lower()]
    signature = dkim.sign(
        raw, b"test", domain.encode(), key, include_headers=include, length=length
    )
    return signature + raw


def via_list(raw: bytes) -> bytes:
    """The committee list host's copy of a post: signed with its own key (d=lists.example.org),
    as casebook requires of list mail (`[security] list_host`)."""
    return sign(raw, domain="lists.example.org")
