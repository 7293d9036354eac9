"""Plain values that cross into the archive: what intake found in a message, case states."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CaseState(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    MEDIATION = "mediation"
    DELIBERATING = "deliberating"
    RESOLUTION_PROPOSED = "resolution-proposed"
    REPORTER_CONSULTED = "reporter-consulted"
    ENACTING = "enacting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    APPEALED = "appealed"
    ESCALATED = "escalated"


class RouteKind(StrEnum):
    """What the envelope recipient says a message is (SPEC §2 step 3)."""

    REPORT = "report"  # the plain reports address
    REPLY = "reply"  # a reports+TOKEN reply address
    LIST = "list"  # the committee list's copy
    APPEAL = "appeal"
    BOUNCE = "bounce"  # casebook's own bounce address
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    token: str | None = None
    # Also sent to the plain reports address: such mail is a report whatever else it was
    # sent to (a stale reply address beside it never holds it).
    reports: bool = False


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    data: bytes


# What a reporter is asked to add when a report lacks it, in the guide's order.
ASKED_FIELDS = ("names", "when", "where", "account", "ongoing")


@dataclass(frozen=True)
class ReportFields:
    """What the reporting guide asks a report to contain; None where the report is silent."""

    contact: str | None = None
    names: str | None = None
    witnesses: str | None = None
    when: str | None = None
    where: str | None = None
    account: str | None = None
    links: tuple[str, ...] = ()
    context: str | None = None
    ongoing: str | None = None
    law_enforcement: str | None = None
    other: str | None = None

    def missing(self) -> tuple[str, ...]:
        """Fields a reporter is invited to add by reply, in the guide's order."""
        return tuple(name for name in ASKED_FIELDS if not getattr(self, name))

    def as_dict(self) -> dict:
        return {
            "contact": self.contact,
            "names": self.names,
            "witnesses": self.witnesses,
            "when": self.when,
            "where": self.where,
            "account": self.account,
            "links": list(self.links),
            "context": self.context,
            "ongoing": self.ongoing,
            "law_enforcement": self.law_enforcement,
            "other": self.other,
        }


@dataclass(frozen=True)
class Delegate:
    """A report forwarded by an event delegate on behalf of the original reporter."""

    original_name: str | None
    original_address: str | None
    actions_taken: str | None


@dataclass(frozen=True)
class Conflict:
    member: str  # the member's or council member's address
    reason: str  # "named in the report", "sent the report", "listed as a witness"
    line: str = ""  # the line of the message that names them, when one line does


@dataclass(frozen=True)
class CommandLine:
    keyword: str  # lower-case, without the '#'
    args: str
    line: str  # as written, for the transcript


@dataclass(frozen=True)
class FoundCommands:
    commands: tuple[CommandLine, ...] = ()
    body: str = ""  # the text after the block, up to the signature or the quote


@dataclass(frozen=True)
class SenderAuth:
    """What intake could prove about who sent a message (SPEC §5, "Who may command")."""

    verified: bool
    method: str  # dkim | arc | from-only | none (token mode is decided by the archive)
    reason: str
    covers_threading: bool = False  # the signature covers Subject and the threading headers


UNCHECKED = "nothing about its sender could be checked"


@dataclass(frozen=True)
class IncomingMessage:
    """Everything intake learned from one delivered message, ready to be archived."""

    raw: bytes
    sha256: str
    message_id: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    route: Route
    content_key: str = ""  # SHA-256 of the bytes without trace headers (see intake.parse)
    claimed_id: str | None = None  # the Message-ID it carried, when another message had it
    transport: str = "smtp"
    from_addr: str | None = None  # None: missing, unparsable or ambiguous ("unknown")
    from_name: str | None = None
    from_problem: str | None = None
    to_addrs: tuple[str, ...] = ()
    subject: str = ""
    date: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject_tag: str | None = None
    text: str = ""
    authored: str = ""  # the text above the quote and the signature: what the sender wrote now
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    parts_left_out: int = 0  # MIME parts beyond `max_parts`: in the raw bytes only
    defects: tuple[str, ...] = ()
    no_reply_reason: str | None = None  # RFC 3834: why casebook must not answer
    automatic: bool = False  # an auto-reply or bounce, never a report
    looped: bool = False  # carries our own loop header
    bounce_key: str | None = None
    report: ReportFields = field(default_factory=ReportFields)
    urgent_reasons: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    delegate: Delegate | None = None
    historical: bool = False  # imported: creates no deadlines and sends nothing
    commands: FoundCommands = field(default_factory=FoundCommands)
    auth: SenderAuth = field(default_factory=lambda: SenderAuth(False, "none", "not checked"))
    sender_header_problem: str | None = None  # several From, Sender not From
    # Without a reply token, whether From is the party's own word (DKIM where the domain signs,
    # else the envelope agreeing); and whether list mail came through the list host.
    party_auth: SenderAuth = field(default_factory=lambda: SenderAuth(False, "none", UNCHECKED))
    list_proof: SenderAuth = field(default_factory=lambda: SenderAuth(False, "none", UNCHECKED))
    # Web form only (transport `form`, which no mailer can claim): "report" or "follow-up",
    # and the SHA-256 of the follow-up page's secret.
    form_kind: str | None = None
    form_page: str | None = None
