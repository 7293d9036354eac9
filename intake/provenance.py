"""Whose word a party's mail is, and whether list mail came through the list host.

A party (reporter, reported person, appellant…) who writes without their reply address counts
only when From and the envelope sender name the same address **and** the mail is proved to come
from the From domain (issue 18: the envelope alone is written by anyone who knows the address):

1. an aligned DKIM signature (d= the From domain or a parent of it) that verifies and covers
   From, Message-ID, Subject and the threading headers: authenticated;
2. an aligned signature that does not verify (or does not cover them): not authenticated, even
   when the envelope agrees;
3. no aligned signature we could check ourselves (no key, or none at all): the topmost
   Authentication-Results, when a host in `trusted_hosts` stamped it, decides: `dkim=pass`
   for an aligned header.d, or `dmarc=pass` for header.from the From domain, authenticates;
   a `fail` there does not; an aligned signature nobody could check is not enough;
4. no aligned signature at all, and no trusted stamp: not authenticated (the mail is archived
   for the committee and the party asked to confirm through their reply address).

List mail is the committee list's only when the list host vouches for it: a valid DKIM
signature with d= exactly the list host, or an ARC chain that verifies and was last sealed by
it (`[security] list_host`, default the committee list's domain).
"""

from __future__ import annotations

import re
from email.message import Message

from archive.record.models import SenderAuth
from archive.record.settings import Settings
from intake.auth import SignatureCheck, aligned, arc_sealer, check_signatures

AR_DKIM_RE = re.compile(r"^\s*dkim\s*=\s*([a-z]+)", re.IGNORECASE)
AR_DMARC_RE = re.compile(r"^\s*dmarc\s*=\s*([a-z]+)", re.IGNORECASE)
AR_FROM_RE = re.compile(r"\bheader\.from\s*=\s*([\w.-]+)", re.IGNORECASE)
AR_DOMAIN_RE = re.compile(r"\bheader\.(?:d\s*=\s*|i\s*=\s*[^@;\s]*@)([\w.-]+)", re.IGNORECASE)


def authenticate_party(
    raw: bytes, message: Message, from_addr: str | None, envelope_from: str, settings: Settings
) -> SenderAuth:
    """Whether this message counts as the word of the party its From names (no reply token)."""
    if from_addr is None:
        return SenderAuth(False, "none", "From is missing or ambiguous")
    if (envelope_from or "").lower() != from_addr.lower():
        return SenderAuth(False, "none", "the envelope sender does not match From")
    domain = from_addr.rsplit("@", 1)[1].lower()
    checks = [c for c in check_signatures(raw, message, settings) if aligned(c.domain, domain)]
    verdict = _own_verdict(checks)
    if verdict is not None:
        return verdict
    stamped = stamped_dkim(message, domain, settings)
    if stamped is not None:
        return stamped
    if checks:
        return SenderAuth(False, "none", checks[0].reason)
    reason = "it carries no DKIM signature of the From domain and no trusted host vouched for it"
    return SenderAuth(False, "none", reason)


def _own_verdict(checks: list[SignatureCheck]) -> SenderAuth | None:
    passed = [c for c in checks if c.status == "pass"]
    if passed:
        return SenderAuth(True, "dkim", passed[0].reason, True)
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        return SenderAuth(False, "none", failed[0].reason)
    return None


def stamped_dkim(message: Message, from_domain: str, settings: Settings) -> SenderAuth | None:
    """The DKIM or DMARC result a trusted receiving host recorded for the From domain, if any.

    Only the topmost Authentication-Results counts (RFC 8601 §5: the receiving host removes
    forged ones carrying its own authserv-id; one further down was written by anyone)."""
    values = message.get_all("Authentication-Results") or []
    if not values or not settings.trusted_hosts:
        return None
    serv, *results = " ".join(str(values[0]).split()).split(";")
    host = (serv.split() or [""])[0].lower()
    if host not in {h.lower() for h in settings.trusted_hosts}:
        return None
    found = stamped_verdicts(results, from_domain)
    passed = sorted(v for v in found if v.endswith("=pass"))
    if passed:
        return SenderAuth(True, "authentication-results", f"{host} recorded {passed[0]}", True)
    if found:
        return SenderAuth(False, "none", f"{host} recorded {sorted(found)[0]}")
    return None


def stamped_verdicts(results: list[str], from_domain: str) -> set[str]:
    """`dkim=…` for a signature aligned with the From domain, `dmarc=…` for that From domain
    (DMARC passes only for mail aligned with it), from one Authentication-Results' results."""
    found = set()
    for result in results:
        dkim, domain = AR_DKIM_RE.search(result), AR_DOMAIN_RE.search(result)
        if dkim and domain and aligned(domain.group(1), from_domain):
            found.add(f"dkim={dkim.group(1).lower()}")
        dmarc, header_from = AR_DMARC_RE.search(result), AR_FROM_RE.search(result)
        if dmarc and header_from and header_from.group(1).lower().rstrip(".") == from_domain:
            found.add(f"dmarc={dmarc.group(1).lower()}")
    return found


def prove_list_copy(raw: bytes, message: Message, settings: Settings) -> SenderAuth:
    """Whether list mail came through the committee's list host (its DKIM or ARC seal)."""
    host = settings.list_host
    for check in check_signatures(raw, message, settings):
        if check.domain == host and check.status == "pass":
            return SenderAuth(True, "dkim", f"signed by the list host {host}")
    sealer, problem = arc_sealer(raw, settings)
    if sealer == host:
        return SenderAuth(True, "arc", f"ARC sealed by the list host {host}")
    why = f"sealed by {sealer}" if sealer else "no signature or seal of it"
    return SenderAuth(False, "none", f"not through the list host {host} ({why})")
