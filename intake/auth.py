"""Who sent a message, as far as it can be proved (SPEC §5 "Who may command").

`dkim`: a valid DKIM signature whose d= aligns with the From domain, covering From,
Message-ID, Subject and the threading headers, over the whole body (an `l=` shorter than the
body leaves an unsigned tail, so it does not count). ARC sealed by a trusted list host is
accepted when the list rewrote the message. Keys come from DNS or, offline, from
`[security.dkim_pinned_keys]`. `token` mode is decided by the archive (the reply address).
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

import dkim
from dkim.canonicalization import CanonicalizationPolicy

from archive.record.address_grammar import find_addresses
from archive.record.models import RouteKind, SenderAuth
from archive.record.settings import Settings
from intake.addresses import parse_from, raw_header_text, route_recipient

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
        found = find_addresses(str(sender[0]), dotted=False)
        if not found or found[0].lower() != (from_addr or ""):
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


def key_lookup(settings: Settings):
    """dkimpy's `dnsfunc`: pinned keys first; an installation that pins keys asks no DNS."""
    pinned = {name.lower().rstrip("."): value for name, value in settings.dkim_pinned_keys}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        key = name.decode("ascii", "replace").lower().rstrip(".")
        if key in pinned:
            return pinned[key].encode()
        if pinned:  # offline installations answer only from the pinned keys
            return None
        return dkim.dnsplug.get_txt(name, timeout=timeout)

    return lookup


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: d= is the From domain or a parent of it (not a bare TLD)."""
    signing_domain = signing_domain.lower().rstrip(".")
    return "." in signing_domain and (
        from_domain == signing_domain or from_domain.endswith("." + signing_domain)
    )


@dataclass(frozen=True)
class SignatureCheck:
    """One DKIM-Signature, checked: `pass` (verifies, covers From, Message-ID, Subject and the
    threading headers, whole body), `fail` (a key was found and it does not hold), or
    `unusable` (malformed, or no key to check it with)."""

    domain: str  # its d=, lower-case ("" when unreadable)
    status: str
    reason: str


D_TAG_RE = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)")


def check_signatures(raw: bytes, message: Message, settings: Settings) -> list[SignatureCheck]:
    """Every DKIM-Signature of the message, in order, each checked on its own."""
    values = message.get_all("DKIM-Signature") or []
    return [
        _check_signature(raw, message, index, str(v), settings) for index, v in enumerate(values)
    ]


def _check_signature(
    raw: bytes, message: Message, index: int, value: str, settings
) -> SignatureCheck:
    found = D_TAG_RE.search(" ".join(value.split()))
    domain = found.group(1).lower().rstrip(".") if found else ""
    checker = dkim.DKIM(raw, logger=log)
    lookup, answers = key_lookup(settings), []

    def recorded(name: bytes, timeout: int = 5) -> bytes | None:
        answers.append(lookup(name, timeout))
        return answers[-1]

    try:
        valid = checker.verify(idx=index, dnsfunc=recorded)
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        return SignatureCheck(domain, "unusable", f"DKIM signature unusable: {exc}")
    fields = checker.signature_fields
    domain = fields.get(b"d", b"").decode("ascii", "replace").lower().rstrip(".") or domain
    if not valid and not any(answers):  # dkimpy logs a missing key and answers False
        return SignatureCheck(domain, "unusable", "DKIM signature unusable: no key to check it")
    if not valid:
        return SignatureCheck(domain, "fail", "DKIM signature does not verify")
    signed = {h.decode().lower() for h in checker.include_headers}
    missing = [h for h in REQUIRED_HEADERS if h not in signed]
    missing += [h for h in THREADING_HEADERS if message.get(h) is not None and h not in signed]
    if missing:
        return SignatureCheck(domain, "fail", f"DKIM signature does not cover {', '.join(missing)}")
    if b"l" in fields:
        policy = CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
        if int(fields[b"l"]) < len(policy.canonicalize_body(checker.body)):
            return SignatureCheck(
                domain, "fail", "DKIM signature covers only part of the body (l=)"
            )
    return SignatureCheck(domain, "pass", f"DKIM d={domain}")


def _verify_dkim(raw: bytes, message: Message, from_domain: str, settings: Settings):
    checks = check_signatures(raw, message, settings)
    if not checks:
        return SenderAuth(False, "none", "no DKIM signature")
    reason = "no DKIM signature aligned with the From domain"
    for check in checks:
        if check.status == "unusable":
            reason = check.reason
        elif aligned(check.domain, from_domain):
            if check.status == "pass":
                return SenderAuth(True, "dkim", check.reason, True)
            reason = check.reason
    return SenderAuth(False, "none", reason)


def arc_sealer(raw: bytes, settings: Settings) -> tuple[str | None, str]:
    """The domain whose ARC seal is the newest of a chain that verifies, or None and why."""
    if b"ARC-Seal" not in raw:
        return None, "no ARC seal"
    try:
        verdict, results, comment = dkim.arc_verify(raw, dnsfunc=key_lookup(settings), logger=log)
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        return None, f"ARC unusable: {exc}"
    if verdict != dkim.CV_Pass or not results:
        return None, f"ARC chain does not verify: {comment}"
    return results[0].get("as-domain", b"").decode("ascii", "replace").lower(), ""  # newest


def _verify_arc(raw: bytes, from_domain: str, settings: Settings) -> SenderAuth:
    """A trusted list host's ARC seal vouching that DKIM passed before the list rewrote it."""
    if not settings.trusted_hosts or b"ARC-Seal" not in raw:
        return SenderAuth(False, "none", "no trusted ARC seal")
    sealer, problem = arc_sealer(raw, settings)
    if sealer is None:
        return SenderAuth(False, "none", problem)
    if sealer not in {h.lower() for h in settings.trusted_hosts}:
        return SenderAuth(False, "none", f"ARC sealed by untrusted {sealer}")
    aar = AAR_DKIM_PASS_RE.search(raw)
    if not aar or not aligned(aar.group(1).decode(), from_domain):
        return SenderAuth(False, "none", "ARC does not record an aligned DKIM pass")
    return SenderAuth(True, "arc", f"ARC sealed by {sealer}", True)


def proves_member(
    raw: bytes,
    sender: str,
    recipients: tuple[str, ...],
    settings: Settings,
    token_owner: Callable[[str], str | None] | None,
) -> str | None:
    """The member or council member (their address) whose mail this provably is, for the
    edge's members' budget (`intake/limits.py`): sent by their envelope address to their own
    reply address for a case (`token_owner` reads whose a token is), or DKIM-signed for a From
    that is theirs. None when it is not proved."""
    person = settings.person_for(sender)
    if person is None:
        return None
    for recipient in recipients:
        route = route_recipient(recipient, settings)
        if route.kind is RouteKind.REPLY and route.token and token_owner is not None:
            owner = token_owner(route.token)
            if owner is not None and person.matches_address(owner):
                return person.email
    if settings.command_auth != "dkim" or settings.insecure_from_only:
        return None  # token mode: only the reply address proves a member
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    author = parse_from([raw_header_text(v) for v in message.get_all("From") or []]).address
    if author is None or not person.matches_address(author):
        return None
    return person.email if authenticate_sender(raw, message, author, settings).verified else None
