"""The committee's configuration as frozen values.

`casebook/config.py` reads them from the TOML file (one table of keys, every problem reported
at once); intake, archive and mailer only ever see these values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    aliases: tuple[str, ...] = ()
    role: str = "member"

    def matches_address(self, address: str) -> bool:
        wanted = address.lower()
        return wanted == self.email.lower() or wanted in (a.lower() for a in self.aliases)


@dataclass(frozen=True)
class EventDelegate:
    """Someone who takes reports at an event and forwards them on the reporter's behalf."""

    name: str
    email: str
    event: str | None = None


def read_secret(path: Path | None, env: str | None) -> str | None:
    """A secret from a file (e.g. a systemd credential) or the environment, read at use time."""
    if path is not None:
        return path.read_text().strip()
    if env:
        return os.environ.get(env)
    return None


@dataclass(frozen=True)
class Relay:
    host: str = "127.0.0.1"
    port: int = 2525
    starttls: bool = False
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    timeout: float = 30.0
    ca_file: Path | None = None  # trust this CA for the relay's STARTTLS (else the system's)

    def password(self) -> str | None:
        """The relay password, read at use time from a file or the environment, never stored."""
        return read_secret(self.password_file, self.password_env)


@dataclass(frozen=True)
class DkimSigning:
    """casebook signs its own mail where the relay does not."""

    domain: str
    selector: str
    key_file: Path


@dataclass(frozen=True)
class WebForm:
    """The web form for anonymous reports and their follow-up pages (`[intake.form]`)."""

    port: int
    host: str = "127.0.0.1"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_attachment_size: int = 5 * 1024 * 1024
    max_attachments: int = 3
    max_text_size: int = 100_000
    max_image_pixels: int = 25_000_000
    reports_per_hour: int = 30
    replies_per_hour: int = 20
    reports_per_client: int = 5  # one client's reports an hour (keyed hash, in memory)
    trusted_proxies: tuple[str, ...] = ()  # IP networks whose X-Forwarded-For is believed


@dataclass(frozen=True)
class IntakeLimits:
    """Rate and connection limits at the SMTP/LMTP edge (`intake/limits.py`), kept in memory.

    A sender may send `sender_burst` messages at once, then one more every hour /
    `sender_per_hour`; each class of address (the public reports and appeals addresses, reply
    and bounce addresses, the committee list) takes `global_burst` at once from everyone,
    then `global_per_hour`. Past either: 451 4.7.1 at RCPT, so the sending server retries.
    A member's or council member's mail past the sender limit is proved at DATA (their reply
    address, or DKIM) and taken from `member_burst` / `member_per_hour` instead.
    """

    sender_burst: int = 10
    sender_per_hour: int = 30
    member_burst: int = 100  # a member's or council member's mail proved theirs, past the above
    member_per_hour: int = 600
    global_burst: int = 100
    global_per_hour: int = 600
    max_connections: int = 100
    connections_per_client: int = 20
    timeout: timedelta = timedelta(minutes=2)  # idle: no command (or DATA line) for this long
    flood_quiet: timedelta = timedelta(hours=1)  # no refusal this long ends a flood
    refusal_delay: timedelta = timedelta(seconds=1)  # each 451 4.7.1 waits this long (tarpit)


@dataclass(frozen=True)
class Imap:
    """A mailbox casebook polls (e.g. its subscription to the committee list)."""

    host: str
    username: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    ca_file: Path | None = None  # trust this CA for the server's certificate (else the system's)
    password_file: Path | None = None
    password_env: str | None = None
    folder: str = "INBOX"
    interval: timedelta = timedelta(seconds=60)
    recipient: str | None = None  # the envelope recipient its mail is taken to have
    timeout: float = 30.0

    def password(self) -> str | None:
        return read_secret(self.password_file, self.password_env)


@dataclass(frozen=True)
class Links:
    """The committee's pointers and resources, shown in the mail of those they help (http(s)
    addresses, or None: the line is left out)."""

    code_of_conduct: str | None = None
    reporting_guide: str | None = None
    reporter_support: str | None = None
    reported_resources: str | None = None


@dataclass(frozen=True)
class Settings:
    database: Path
    spool: Path
    timezone: str
    case_prefix: str
    reports: str
    appeals: str
    committee_list: str
    council_address: str
    core_team: str
    list_subscriber: str | None
    bounces: str
    committee_name: str
    members: tuple[Person, ...]
    council: tuple[Person, ...]
    alternates: tuple[Person, ...] = ()  # e.g. an outside ombudsperson
    delegates: tuple[EventDelegate, ...] = ()  # their forwards are reports on someone's behalf
    intake_host: str = "127.0.0.1"
    intake_port: int = 8025
    lmtp: bool = False
    max_message_size: int = 25 * 1024 * 1024
    max_parts: int = 300  # MIME parts split out of one message (intake/parts.py)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    relay: Relay = field(default_factory=Relay)
    retry_schedule: tuple[timedelta, ...] = (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
    )
    give_up_after: timedelta = timedelta(days=2)
    command_auth: str = "dkim"
    insecure_from_only: bool = False
    dkim_pinned_keys: tuple[tuple[str, str], ...] = ()
    templates_override: Path | None = None
    ack_daily_cap: int = 5
    followup_ack_interval: timedelta = timedelta(days=1)
    trusted_hosts: tuple[str, ...] = ()
    list_host_domain: str | None = None  # whose DKIM/ARC proves list mail (default: the list's)
    sweep_interval: timedelta = timedelta(seconds=30)
    imap: Imap | None = None
    form: WebForm | None = None
    dkim_signing: DkimSigning | None = None
    enact_by_any_member: bool = False
    consult_wait: timedelta = timedelta(days=5)
    late_send_hold: timedelta = timedelta(hours=24)  # scheduled mail later than this waits
    ack_watchdog: timedelta = timedelta(hours=1)
    timeline_request_after: timedelta = timedelta(days=6)
    update_after: timedelta = timedelta(days=7)
    default_projection: timedelta = timedelta(days=14)
    deadlock_after: timedelta = timedelta(days=7)
    unilateral_reminder_after: timedelta = timedelta(hours=20)
    appeal_quorum: int = 0  # council members deciding alike; 0: a majority of the free ones
    appeal_due: timedelta = timedelta(days=14)
    digest_weekday: int = 0  # Monday
    digest_time: str = "09:00"
    links: Links = field(default_factory=Links)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return self.reports.rsplit("@", 1)[1].lower()

    @property
    def list_host(self) -> str:
        """The domain whose DKIM signature or ARC seal proves mail came through the list."""
        return (self.list_host_domain or self.committee_list.rsplit("@", 1)[1]).lower()

    @property
    def everyone(self) -> tuple[Person, ...]:
        """Every member, council member and alternate: who may be conflicted, whose identity
        never leaves the committee."""
        return (*self.members, *self.council, *self.alternates)

    @property
    def committee(self) -> tuple[Person, ...]:
        """Who acts as the committee: its members or, with none configured, the council
        (the manual's interim rule)."""
        return self.members or self.council

    @property
    def chair(self) -> Person | None:
        if not self.members:
            return self.council_chair
        return next((m for m in self.members if m.role == "chair"), None)

    @property
    def council_chair(self) -> Person | None:
        return next((m for m in self.council if m.role == "council-chair"), None)

    def person_for(self, address: str) -> Person | None:
        """The member or council member who owns this address or alias, if any."""
        for person in (*self.members, *self.council):
            if person.matches_address(address):
                return person
        return None

    def delegate_for(self, address: str | None) -> EventDelegate | None:
        """The configured event delegate sending from `address`, if any."""
        wanted = (address or "").lower()
        return next((d for d in self.delegates if d.email.lower() == wanted), None)

    def own_addresses(self) -> set[str]:
        """casebook's own addresses: mail from these is never answered."""
        own = {self.reports, self.appeals, self.bounces, self.committee_list}
        if self.list_subscriber:
            own.add(self.list_subscriber)
        return {a.lower() for a in own}
