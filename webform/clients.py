"""Who is asking, for the form's rate limits only, kept as nothing anyone could read back.

One client (a bot, someone angry) must not close the anonymous form to everyone, so each
client has its own bucket of reports (`reports_per_client` an hour) before the one for
everyone together (`reports_per_hour`) is asked. A client is its IP address (an IPv6 client
its /64, which one machine can change at will), taken from the connection, or from the
`X-Forwarded-For` a configured proxy (`trusted_proxies`) added, never from the header of
anyone else. It is remembered only as HMAC-SHA256 under a random key made at start and
replaced every hour, in memory, never written or logged: when the key is replaced, the
buckets go with it, and no one, casebook included, can tell afterwards who sent what.

When the bucket for everyone runs out, the committee is told once per episode (`Exhaustion`):
the first refusal after `flood_quiet` without one starts it, as at the SMTP edge.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from archive.arrivals.floods import WEB_FORM
from archive.record.settings import WebForm
from intake.limits import Buckets, Flood

log = logging.getLogger(__name__)

ROTATE_EVERY = 3600.0  # seconds a key (and every bucket keyed by it) lives
ONE_CLIENT, EVERYONE = "client", "everyone"  # which bucket was empty
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    peer: str | None, forwarded: str | None, proxies: Iterable[Network]
) -> str | None:
    """The client as the limits know it: its IPv4 address or IPv6 /64; None when unknown
    (a trusted proxy that did not say, or said something that is no address)."""
    proxies = tuple(proxies)
    address = _address(peer)
    if address is not None and any(address in net for net in proxies):
        address = None
        for hop in reversed((forwarded or "").split(",")):  # the nearest hop was added last
            address = _address(hop.strip())
            if address is None or not any(address in net for net in proxies):
                break
        else:
            address = None
    if address is None:
        return None
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientBuckets:
    """Token buckets keyed by a client's keyed hash; the key is replaced every hour."""

    def __init__(self, burst: int, per_hour: int):
        self.burst, self.per_hour = burst, per_hour
        self._key = b""
        self._made_at = float("-inf")
        self.buckets = Buckets(burst, per_hour)

    def _hash(self, client: str, now: float) -> str:
        if now - self._made_at >= ROTATE_EVERY:
            self._key, self._made_at = secrets.token_bytes(32), now
            self.buckets = Buckets(self.burst, self.per_hour)  # old hashes mean nothing now
        return hmac.new(self._key, client.encode(), hashlib.sha256).hexdigest()

    def has(self, client: str | None, now: float) -> bool:
        """True for an unknown client (None): only the bucket for everyone holds it."""
        return client is None or self.buckets.has(self._hash(client, now), now)

    def take(self, client: str | None, now: float) -> None:
        if client is not None:
            self.buckets.take(self._hash(client, now), now)


class Exhaustion:
    """Refusals by the bucket for everyone, in episodes: the committee hears of each once."""

    def __init__(self, quiet: float):
        self.quiet = quiet
        self.last: float | None = None

    def refused(self, now: float) -> bool:
        """Note a refusal; True when it starts a new episode."""
        starts = self.last is None or now - self.last >= self.quiet
        self.last = now
        return starts


class ReportLimits:
    """Each client's bucket, then everyone's: `admit` takes a report from both or says which
    one is empty; the first refusal of an episode by everyone's notes a flood for the worker
    (`note_flood`: the spool's), which alerts the committee through the `floods` table."""

    def __init__(self, form: WebForm, quiet: float, note_flood: Callable[[Flood], None] | None):
        self.clients = ClientBuckets(form.reports_per_client, form.reports_per_client)
        self.everyone = Buckets(form.reports_per_hour, form.reports_per_hour)
        self.proxies = tuple(ipaddress.ip_network(n, strict=False) for n in form.trusted_proxies)
        self.exhaustion = Exhaustion(quiet)
        self.note_flood = note_flood
        self.told_of_proxy = False

    def admit(
        self, peer: str | None, forwarded: str | None, now: float, wall: datetime, *, take: bool
    ) -> str | None:
        """None when a report may be taken (and, with `take`, counted), else ONE_CLIENT or
        EVERYONE (`wall`: to the minute)."""
        client = client_address(peer, forwarded, self.proxies)
        if not self.clients.has(client, now):
            self._tell_of_proxy(peer)
            return ONE_CLIENT
        if not self.everyone.has("all", now):
            if self.exhaustion.refused(now):
                self._tell_committee(wall)
            return EVERYONE
        if take:
            self.clients.take(client, now)
            self.everyone.take("all", now)
        return None

    def _tell_committee(self, wall: datetime) -> None:
        log.warning(
            "the web form's limit for all reports (reports_per_hour) is reached:"
            " refusing reports with 429; the committee is told once"
        )
        if self.note_flood is not None:
            self.note_flood(Flood(str(uuid.uuid4()), WEB_FORM, "global", "", wall))

    def _tell_of_proxy(self, peer: str | None) -> None:
        """A reverse proxy on this host not in `trusted_proxies` makes every reporter one
        client: say so once (without the address) when its limit first refuses."""
        address = _address(peer)
        if self.proxies or self.told_of_proxy or address is None or not address.is_loopback:
            return
        self.told_of_proxy = True
        log.warning(
            "the web form's limit for one client (reports_per_client) refused a report"
            " from this host: behind a reverse proxy here, list it in [intake.form]"
            " trusted_proxies and have it send X-Forwarded-For"
            " (docs/operators/deploy.md), or every reporter shares one client's"
            " limit"
        )
