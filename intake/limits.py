"""Flood limits at the SMTP/LMTP edge: token buckets and connection counts, in memory.

Pure state with the clock passed in (`now`, seconds of a monotonic clock): the SMTP edge
(`intake/smtp.py`) asks `Gate` at connect and at each RCPT, and answers what it says.

- **Per sender**: the envelope sender (MAIL FROM, which anyone can forge) may send
  `sender_burst` messages at once, then `sender_per_hour`. A flood that forges a victim's
  address refuses the victim only while the flood lasts and for one refill after it (two
  minutes at the defaults), and only with 451, which the victim's server retries. Mail to the
  list address is not counted per sender (all of it has the list's envelope sender).
- **Members' own budget**: a configured member's or council member's envelope sender past
  its sender limit is not refused at RCPT; at DATA, mail proved theirs (sent to their own
  reply address, or DKIM-signed for their From; `intake/auth.proves_member`) is taken from
  `member_burst` / `member_per_hour` instead, so the chair working through many cases in one
  sitting is never refused; mail not proved gets the sender limit's 451 4.7.1 there.
- **Per class of address**: reports and appeals (anyone may write), reply and bounce
  addresses (`conduct+…`), the committee list: each class has its own bucket for all
  senders together, so a flood at the reports address never starves members' replies or the
  list host's copies.
- **Connections**: at most `max_connections` at once, `connections_per_client` from one IP
  address; the idle timeout (aiosmtpd's `timeout`) frees the slots of slow clients.
- **Tarpit**: each refusal waits `refusal_delay` before it is answered, and the tenth in one
  connection closes it (421), so a flood costs the flooder time and connections rather than
  costing casebook the CPU its worker needs for real reporters' acknowledgements.
- **One flood, one alert**: the first refusal in a class after `flood_quiet` without one
  starts a flood; `Gate` returns a `Flood` for it once, which the edge spools for the worker.

Everything here lives in the intake process's memory: a restart forgets it (the buckets
start full again, a flood in progress counts as new).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from archive.record.models import RouteKind
from archive.record.settings import IntakeLimits

REPORTS, REPLIES, LIST = "reports", "replies", "list"
CLASSES = {
    RouteKind.REPORT: REPORTS,
    RouteKind.APPEAL: REPORTS,
    RouteKind.REPLY: REPLIES,
    RouteKind.BOUNCE: REPLIES,
    RouteKind.LIST: LIST,
}
PER_SENDER = frozenset({REPORTS, REPLIES})
DEFERRED = "proof:"  # in an envelope's charged classes: a member's mail, to be proved at DATA
MAX_SENDERS = 10_000  # sender buckets kept before full ones are forgotten
SESSION_REFUSALS = 10  # the tenth refusal in one connection closes it (Postfix's soft limit)

SENDER_REFUSAL = "451 4.7.1 Too much mail from this sender; please try again later"
GLOBAL_REFUSAL = "451 4.7.1 Too much mail to this address just now; please try again later"
CLOSING = "421 4.7.1 Too much mail refused in this connection; closing, please try again later"
TOO_MANY = "421 4.7.0 Too many connections; please try again later"
TOO_MANY_FROM_YOU = "421 4.7.0 Too many connections from your address; please try again later"


class Buckets:
    """Token buckets by key: `burst` tokens, refilled at `per_hour`; unknown keys are full."""

    def __init__(self, burst: int, per_hour: int):
        self.burst = float(burst)
        self.rate = per_hour / 3600.0  # tokens a second
        self.levels: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def level(self, key: str, now: float) -> float:
        if key not in self.levels:
            return self.burst
        tokens, at = self.levels[key]
        return min(self.burst, tokens + max(0.0, now - at) * self.rate)

    def has(self, key: str, now: float) -> bool:
        return self.level(key, now) >= 1.0

    def take_if_any(self, key: str, now: float) -> bool:
        """Take a token when there is one; whether there was."""
        if not self.has(key, now):
            return False
        self.take(key, now)
        return True

    def take(self, key: str, now: float) -> None:
        self.levels[key] = (self.level(key, now) - 1.0, now)
        if len(self.levels) > MAX_SENDERS:
            self.forget_full(now)

    def forget_full(self, now: float) -> None:
        """Drop keys whose bucket has refilled: they are as good as unknown."""
        for key in [k for k in self.levels if self.level(k, now) >= self.burst]:
            del self.levels[key]


@dataclass(frozen=True)
class Flood:
    """A flood began: what the committee is told once (the edge spools it for the worker)."""

    key: str  # unique, so the archive alerts once however often it is read
    address_class: str  # reports, replies or list
    reason: str  # "sender" (one sender over its limit) or "global" (all senders together)
    sender: str  # the envelope sender refused first (forgeable)
    started_at: datetime


@dataclass(frozen=True)
class Refusal:
    reply: str
    flood: Flood | None  # set on the refusal that starts a flood


class Gate:
    """The edge's limits, one per intake process."""

    def __init__(self, limits: IntakeLimits):
        self.limits = limits
        self.senders = Buckets(limits.sender_burst, limits.sender_per_hour)
        self.classes = Buckets(limits.global_burst, limits.global_per_hour)
        self.members = Buckets(limits.member_burst, limits.member_per_hour)
        self.connections: dict[str, int] = {}
        self.last_refusal: dict[str, float] = {}  # class -> when its flood last refused
        self.refused = 0  # every 451 4.7.1 since start
        self.refused_connections = 0  # every 421 at connect since start
        self.logged_connections_at = float("-inf")

    # -- connections -------------------------------------------------------------------------

    def connect(self, client: str) -> str | None:
        """Count a new connection from `client` (its IP); the 421 to answer instead, if any."""
        if sum(self.connections.values()) >= self.limits.max_connections:
            return TOO_MANY
        if self.connections.get(client, 0) >= self.limits.connections_per_client:
            return TOO_MANY_FROM_YOU
        self.connections[client] = self.connections.get(client, 0) + 1
        return None

    def should_log_refused_connection(self, now: float) -> bool:
        """One WARNING a minute about refused connections, not one per connection."""
        self.refused_connections += 1
        if now - self.logged_connections_at < 60.0:
            return False
        self.logged_connections_at = now
        return True

    def disconnect(self, client: str) -> None:
        left = self.connections.get(client, 0) - 1
        if left > 0:
            self.connections[client] = left
        else:
            self.connections.pop(client, None)

    # -- messages ----------------------------------------------------------------------------

    def recipient(
        self,
        sender: str,
        kind: RouteKind,
        charged: set[str],
        now: float,
        wall: datetime,
        *,
        member: bool = False,
    ) -> Refusal | None:
        """May `sender` send to an address of this kind now? Charges one message per class
        per envelope (`charged` holds the classes this envelope paid for already). A `member`
        (the sender is a member's or council member's address) past the sender limit is let
        on to DATA, where `message` decides by whether the mail proves to be theirs."""
        address_class = CLASSES.get(kind)
        if address_class is None or address_class in charged:
            return None
        sender_key = sender.lower()
        per_sender = address_class in PER_SENDER
        deferred = per_sender and not self.senders.has(sender_key, now)
        if deferred and not member:
            return self._refuse(address_class, "sender", sender, now, wall)
        if not self.classes.has(address_class, now):
            return self._refuse(address_class, "global", sender, now, wall)
        if per_sender and not deferred:
            self.senders.take(sender_key, now)
        self.classes.take(address_class, now)
        charged.add(address_class)
        if deferred:
            charged.add(DEFERRED + address_class)
        return None

    @staticmethod
    def needs_proof(charged: set[str]) -> bool:
        """The envelope passed RCPT on a member's word alone: DATA must prove it."""
        return any(c.startswith(DEFERRED) for c in charged)

    def message(
        self, sender: str, proved: str | None, charged: set[str], now: float, wall: datetime
    ) -> Refusal | None:
        """At DATA, for an envelope let on past the sender limit: mail `proved` to be a
        member's (their address) takes from the members' budget; any other is refused as
        the sender limit would have refused it at RCPT."""
        address_class = next(c for c in charged if c.startswith(DEFERRED))[len(DEFERRED) :]
        if proved is not None and self.members.take_if_any(proved.lower(), now):
            return None
        return self._refuse(address_class, "sender", sender, now, wall)

    def _refuse(self, address_class: str, reason: str, sender: str, now: float, wall: datetime):
        self.refused += 1
        last = self.last_refusal.get(address_class)
        self.last_refusal[address_class] = now
        reply = SENDER_REFUSAL if reason == "sender" else GLOBAL_REFUSAL
        if last is not None and now - last < self.limits.flood_quiet.total_seconds():
            return Refusal(reply, None)
        flood = Flood(str(uuid.uuid4()), address_class, reason, sender, wall)
        return Refusal(reply, flood)
