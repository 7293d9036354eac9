"""Who sent a message, as far as it can be proved (SPEC §5 "Who may command").

`dkim`: a valid DKIM signature whose d= aligns with the From domain, covering From,
Message-ID, Subject and the threading headers, over the whole body (an `l=` shorter than the
body leaves an unsigned tail, so it does not count). ARC sealed by a trusted list host is
accepted when the list rewrote the message. Keys come from DNS or, offline, from
`[security.dkim_pinned_keys]`. `token` mode is decided by the archive (the reply address).
"""

from __future__ import annotations

import logging
import re
from email.message import Message

import dkim
from dkim.canonicalization import CanonicalizationPolicy

from archive.models import SenderAuth
from archive.settings import Settings

log = logging.getLogger(__name__)
REQUIRED_HEADERS = ("from", "message-id", "subject")
THREADING_HEADERS = ("in-reply-to", "references")
AAR_DKIM_PASS_RE = re.compile(
    rb"(?im)^ARC-Authentication-Results:\s*i=1;(?:.|\n[ \t])*?dkim=pass[^;]*header\.d=([\w.-]+)"
)


def sender_header_problem(message: Message, from_addr: str | None) -> str | None:
    """Several From headers, or a Sender that is not the From: never a member's command."""
    if len(message.get_all("From") or []) != 1:
        return "the message does not have exactly one From header"
    sender = message.get_all("Sender") or []
    if len(sender) > 1:
        return "more than one Sender header"
    if sender:
        match = re.search(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+", str(sender[0]))
        if not match or match.group(0).lower() != (from_addr or ""):
            return "Sender differs from From"
    return None


def authenticate_sender(
    raw: bytes, message: Message, from_addr: str | None, settings: Settings
) -> SenderAuth:
    """Prove (or not) that `from_addr` sent this message, by the configured policy."""
    if from_addr is None:
        return SenderAuth(False, "none", "From is missing or ambiguous")
    if settings.insecure_from_only:
        return SenderAuth(True, "from-only", "insecure_from_only: From header trusted", True)
    if settings.command_auth != "dkim":
        return SenderAuth(False, "none", "token mode: only the reply address counts")
    domain = from_addr.rsplit("@", 1)[1].lower()
    result = _verify_dkim(raw, message, domain, settings)
    if result.verified:
        return result
    arc = _verify_arc(raw, domain, settings)
    return arc if arc.verified else result


def _dnsfunc(settings: Settings):
    pinned = {name.lower().rstrip("."): value for name, value in settings.dkim_pinned_keys}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        key = name.decode("ascii", "replace").lower().rstrip(".")
        if key in pinned:
            return pinned[key].encode()
        if pinned:  # offline installations answer only from the pinned keys
            return None
        return dkim.dnsplug.get_txt(name, timeout=timeout)

    return lookup


def _aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: d= is the From domain or a parent of it (not a bare TLD)."""
    signing_domain = signing_domain.lower().rstrip(".")
    return "." in signing_domain and (
        from_domain == signing_domain or from_domain.endswith("." + signing_domain)
    )


def _verify_dkim(raw: bytes, message: Message, from_domain: str, settings: Settings):
    count = len(message.get_all("DKIM-Signature") or [])
    if count == 0:
        return SenderAuth(False, "none", "no DKIM signature")
    reason = "no DKIM signature aligned with the From domain"
    for index in range(count):
        checker = dkim.DKIM(raw, logger=log)
        try:
            valid = checker.verify(idx=index, dnsfunc=_dnsfunc(settings))
        except (dkim.DKIMException, ValueError, IndexError) as exc:
            reason = f"DKIM signature unusable: {exc}"
            continue
        fields = checker.signature_fields
        signing_domain = fields.get(b"d", b"").decode("ascii", "replace")
        if not _aligned(signing_domain, from_domain):
            continue
        if not valid:
            reason = "DKIM signature does not verify"
            continue
        signed = {h.decode().lower() for h in checker.include_headers}
        missing = [h for h in REQUIRED_HEADERS if h not in signed]
        missing += [h for h in THREADING_HEADERS if message.get(h) is not None and h not in signed]
        if missing:
            reason = f"DKIM signature does not cover {', '.join(missing)}"
            continue
        if b"l" in fields:
            policy = CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
            body = policy.canonicalize_body(checker.body)
            if int(fields[b"l"]) < len(body):
                reason = "DKIM signature covers only part of the body (l=)"
                continue
        return SenderAuth(True, "dkim", f"DKIM d={signing_domain}", True)
    return SenderAuth(False, "none", reason)


def _verify_arc(raw: bytes, from_domain: str, settings: Settings) -> SenderAuth:
    """A trusted list host's ARC seal vouching that DKIM passed before the list rewrote it."""
    if not settings.trusted_hosts or b"ARC-Seal" not in raw:
        return SenderAuth(False, "none", "no trusted ARC seal")
    try:
        verdict, results, comment = dkim.arc_verify(raw, dnsfunc=_dnsfunc(settings), logger=log)
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        return SenderAuth(False, "none", f"ARC unusable: {exc}")
    if verdict != dkim.CV_Pass or not results:
        return SenderAuth(False, "none", f"ARC chain does not verify: {comment}")
    sealer = results[0].get("as-domain", b"").decode("ascii", "replace").lower()  # newest
    if sealer not in {h.lower() for h in settings.trusted_hosts}:
        return SenderAuth(False, "none", f"ARC sealed by untrusted {sealer}")
    aar = AAR_DKIM_PASS_RE.search(raw)
    if not aar or not _aligned(aar.group(1).decode(), from_domain):
        return SenderAuth(False, "none", "ARC does not record an aligned DKIM pass")
    return SenderAuth(True, "arc", f"ARC sealed by {sealer}", True)
