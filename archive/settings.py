"""The committee's configuration as frozen values, loaded from one TOML file.

Every error in the file is collected and reported together, one line each, so an operator
fixes a broken configuration in one pass (`casebook check-config`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ADDRESS_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*/=?^_`{|}~+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
COMMAND_AUTH_MODES = ("dkim", "token")
ROLES = ("chair", "member")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


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
class Imap:
    """A mailbox casebook polls (e.g. its subscription to the committee list)."""

    host: str
    username: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    password_file: Path | None = None
    password_env: str | None = None
    folder: str = "INBOX"
    interval: timedelta = timedelta(seconds=60)
    recipient: str | None = None  # the envelope recipient its mail is taken to have
    timeout: float = 30.0

    def password(self) -> str | None:
        return read_secret(self.password_file, self.password_env)


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
    tls_cert: Path | None = None
    tls_key: Path | None = None
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
    dkim_signing: DkimSigning | None = None
    enact_by_any_member: bool = False
    consult_wait: timedelta = timedelta(days=5)
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


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `24h`, `7d`, `2w` to a timedelta; ValueError on anything else."""
    match = DURATION_RE.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use a number and s, m, h, d or w, e.g. 24h)")
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


def load_settings(path: Path) -> Settings:
    """Read and validate the configuration file; ConfigError lists every problem found."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such configuration file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return settings_from_dict(raw)


def settings_from_dict(raw: dict) -> Settings:
    reader = _Reader(raw)
    settings = reader.build()
    if reader.problems:
        raise ConfigError(reader.problems)
    assert settings is not None
    return settings


class _Reader:
    """Walks the TOML tables, collecting problems instead of stopping at the first."""

    KNOWN = {
        "casebook": {
            "database",
            "spool",
            "timezone",
            "case_prefix",
            "committee_name",
            "templates",
            "sweep_interval",
        },
        "addresses": {
            "reports",
            "appeals",
            "committee_list",
            "council",
            "core_team",
            "list_subscriber",
            "bounces",
        },
        "intake": {"smtp", "imap", "max_message_size", "ack_daily_cap", "followup_ack_interval"},
        "intake.smtp": {"host", "port", "lmtp", "tls_cert", "tls_key"},
        "intake.imap": {
            "host",
            "port",
            "ssl",
            "starttls",
            "username",
            "password_file",
            "password_env",
            "folder",
            "interval",
            "recipient",
            "timeout",
        },
        "mailer": {"smtp", "retry", "give_up_after", "dkim"},
        "mailer.dkim": {"domain", "selector", "private_key_file"},
        "mailer.smtp": {
            "host",
            "port",
            "starttls",
            "username",
            "password_file",
            "password_env",
            "timeout",
            "ca_file",
        },
        "security": {
            "command_auth",
            "insecure_from_only",
            "dkim_pinned_keys",
            "trusted_hosts",
            "list_host",
        },
        "policy": {
            "enact_by_any_member",
            "consult_wait",
            "ack_watchdog",
            "timeline_request_after",
            "update_after",
            "default_projection",
            "deadlock_after",
            "unilateral_reminder_after",
            "appeal_quorum",
        },
        "digest": {"weekday", "time"},
    }

    def __init__(self, raw: dict):
        self.raw = raw
        self.problems: list[str] = []

    def table(self, dotted: str) -> dict:
        node: object = self.raw
        for part in dotted.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict):
            self.problems.append(f"[{dotted}] must be a table")
            return {}
        for key in node:
            known = self.KNOWN.get(dotted)
            if known is not None and key not in known:
                self.problems.append(f"[{dotted}] unknown key {key!r}")
        return node

    def value(self, dotted: str, key: str, kind: type, default=None, required=False):
        table = self.table(dotted)
        if key not in table:
            if required:
                self.problems.append(f"[{dotted}] {key} is required")
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(f"[{dotted}] {key} must be {kind.__name__}, not {value!r}")
            return default
        return value

    def address(self, dotted: str, key: str, required=True, default=None) -> str | None:
        value = self.value(dotted, key, str, default=default, required=required)
        if value is not None and not ADDRESS_RE.match(value):
            self.problems.append(f"[{dotted}] {key} is not a plain mail address: {value!r}")
        return value

    def duration(self, dotted: str, key: str, default: timedelta) -> timedelta:
        text = self.value(dotted, key, str)
        if text is None:
            return default
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.problems.append(f"[{dotted}] {key}: {exc}")
            return default

    def _weekday(self) -> int:
        day = self.value("digest", "weekday", str, "monday").lower()
        if day not in WEEKDAYS:
            self.problems.append(f"[digest] weekday must be one of {', '.join(WEEKDAYS)}")
            return 0
        return WEEKDAYS.index(day)

    def _digest_time(self) -> str:
        text = self.value("digest", "time", str, "09:00")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            self.problems.append("[digest] time must be HH:MM, e.g. 09:00")
            return "09:00"
        return text

    def dkim_signing(self) -> DkimSigning | None:
        table = "mailer.dkim"
        if not self.table(table):
            return None
        domain = self.value(table, "domain", str, required=True)
        selector = self.value(table, "selector", str, required=True)
        key = self.value(table, "private_key_file", str, required=True)
        if not (domain and selector and key):
            return None
        return DkimSigning(domain, selector, Path(key))

    def imap(self) -> Imap | None:
        table = "intake.imap"
        if not self.table(table):
            return None
        host = self.value(table, "host", str, required=True)
        username = self.value(table, "username", str, required=True)
        password_file = self.value(table, "password_file", str)
        recipient = self.address(table, "recipient", required=False)
        if host is None or username is None:
            return None
        return Imap(
            host=host,
            username=username,
            port=self.value(table, "port", int, 993),
            ssl=self.value(table, "ssl", bool, True),
            starttls=self.value(table, "starttls", bool, False),
            password_file=Path(password_file) if password_file else None,
            password_env=self.value(table, "password_env", str),
            folder=self.value(table, "folder", str, "INBOX"),
            interval=self.duration(table, "interval", timedelta(seconds=60)),
            recipient=recipient,
            timeout=self.value(table, "timeout", float, 30.0),
        )

    def delegates(self) -> tuple[EventDelegate, ...]:
        entries = self.raw.get("delegates", [])
        if not isinstance(entries, list):
            self.problems.append("[[delegates]] must be an array of tables")
            return ()
        found = []
        for n, entry in enumerate(entries, 1):
            where = f"[[delegates]] #{n}"
            if not isinstance(entry, dict):
                self.problems.append(f"{where} must be a table")
                continue
            for unknown in set(entry) - {"name", "email", "event"}:
                self.problems.append(f"{where} unknown key {unknown!r}")
            name, email, event = entry.get("name"), entry.get("email"), entry.get("event")
            if not isinstance(name, str) or not name.strip():
                self.problems.append(f"{where} needs a name")
            elif not isinstance(email, str) or not ADDRESS_RE.match(email):
                self.problems.append(f"{where} ({name}) needs a plain email address")
            elif event is not None and not isinstance(event, str):
                self.problems.append(f"{where} ({name}) event must be text")
            else:
                found.append(EventDelegate(name.strip(), email, event))
        return tuple(found)

    def people(self, key: str, roles: bool) -> tuple[Person, ...]:
        entries = self.raw.get(key, [])
        if not isinstance(entries, list):
            self.problems.append(f"[[{key}]] must be an array of tables")
            return ()
        people = []
        for n, entry in enumerate(entries, 1):
            where = f"[[{key}]] #{n}"
            if not isinstance(entry, dict):
                self.problems.append(f"{where} must be a table")
                continue
            allowed = {"name", "email", "aliases", "role"}
            for unknown in set(entry) - allowed:
                self.problems.append(f"{where} unknown key {unknown!r}")
            name, email = entry.get("name"), entry.get("email")
            if not isinstance(name, str) or not name.strip():
                self.problems.append(f"{where} needs a name")
                continue
            if not isinstance(email, str) or not ADDRESS_RE.match(email):
                self.problems.append(f"{where} ({name}) needs a plain email address")
                continue
            aliases = entry.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                self.problems.append(f"{where} ({name}) aliases must be a list of strings")
                aliases = []
            role = entry.get("role", "member")
            if role not in ROLES:
                self.problems.append(f"{where} ({name}) role must be one of {', '.join(ROLES)}")
            if not roles:
                role = "council-chair" if role == "chair" else "council"
            people.append(Person(name.strip(), email, tuple(aliases), role))
        emails = [p.email.lower() for p in people]
        for email in sorted({e for e in emails if emails.count(e) > 1}):
            self.problems.append(f"[[{key}]] lists {email} more than once")
        return tuple(people)

    def build(self) -> Settings | None:
        for top in self.raw:
            if top not in {
                "casebook",
                "addresses",
                "intake",
                "mailer",
                "security",
                "policy",
                "digest",
            } | {
                "members",
                "council",
                "alternates",
                "delegates",
            }:
                self.problems.append(f"unknown table [{top}]")
        base = "casebook"
        timezone = self.value(base, "timezone", str, "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(f"[casebook] timezone {timezone!r} is not a known time zone")
            timezone = "UTC"
        prefix = self.value(base, "case_prefix", str, "CoC")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,15}", prefix or ""):
            self.problems.append("[casebook] case_prefix must be letters and digits, e.g. CoC")
        templates = self.value(base, "templates", str)

        reports = self.address("addresses", "reports")
        bounces_default = None
        if reports and ADDRESS_RE.match(reports):
            local, domain = reports.rsplit("@", 1)
            bounces_default = f"{local}-bounces@{domain}"
            if "+" in local:
                self.problems.append("[addresses] reports must not contain '+' (used for tokens)")
        addresses = {
            "appeals": self.address("addresses", "appeals"),
            "committee_list": self.address("addresses", "committee_list"),
            "council_address": self.address("addresses", "council"),
            "core_team": self.address("addresses", "core_team"),
            "list_subscriber": self.address("addresses", "list_subscriber", required=False),
            "bounces": self.address("addresses", "bounces", required=False) or bounces_default,
        }
        members = self.people("members", roles=True)
        council = self.people("council", roles=False)
        alternates = self.people("alternates", roles=False)
        delegates = self.delegates()
        if sum(1 for m in members if m.role == "chair") > 1:
            self.problems.append("[[members]] names more than one chair")
        if sum(1 for m in council if m.role == "council-chair") > 1:
            self.problems.append("[[council]] names more than one chair")

        smtp = "intake.smtp"
        port = self.value(smtp, "port", int, 8025)
        max_size = self.value("intake", "max_message_size", int, 25 * 1024 * 1024)
        relay_table = "mailer.smtp"
        password_file = self.value(relay_table, "password_file", str)
        relay = Relay(
            host=self.value(relay_table, "host", str, "127.0.0.1"),
            port=self.value(relay_table, "port", int, 2525),
            starttls=self.value(relay_table, "starttls", bool, False),
            username=self.value(relay_table, "username", str),
            password_file=Path(password_file) if password_file else None,
            password_env=self.value(relay_table, "password_env", str),
            timeout=self.value(relay_table, "timeout", float, 30.0),
            ca_file=Path(ca) if (ca := self.value(relay_table, "ca_file", str)) else None,
        )
        retry_texts = self.value("mailer", "retry", list, None)
        retry = Settings.__dataclass_fields__["retry_schedule"].default
        if retry_texts is not None:
            try:
                retry = tuple(parse_duration(t) for t in retry_texts)
            except ValueError as exc:
                self.problems.append(f"[mailer] retry: {exc}")
        auth = self.value("security", "command_auth", str, "dkim")
        if auth not in COMMAND_AUTH_MODES:
            self.problems.append(
                f"[security] command_auth must be one of {', '.join(COMMAND_AUTH_MODES)}"
            )
        pinned = self.value("security", "dkim_pinned_keys", dict, {})
        tls_cert, tls_key = self.value(smtp, "tls_cert", str), self.value(smtp, "tls_key", str)
        if bool(tls_cert) != bool(tls_key):
            self.problems.append("[intake.smtp] tls_cert and tls_key go together")
        for name, number in (("intake.smtp port", port), ("mailer.smtp port", relay.port)):
            if number is not None and not 0 <= number <= 65535:
                self.problems.append(f"[{name.split()[0]}] port must be 0-65535")
        if max_size is not None and max_size < 1024:
            self.problems.append("[intake] max_message_size must be at least 1024 bytes")
        if self.problems or reports is None:
            return None
        return Settings(
            database=Path(self.value(base, "database", str, "var/casebook.db")),
            spool=Path(self.value(base, "spool", str, "var/spool")),
            timezone=timezone,
            case_prefix=prefix,
            reports=reports,
            committee_name=self.value(base, "committee_name", str, "Code of Conduct Committee"),
            members=members,
            council=council,
            alternates=alternates,
            delegates=delegates,
            intake_host=self.value(smtp, "host", str, "127.0.0.1"),
            intake_port=port,
            lmtp=self.value(smtp, "lmtp", bool, False),
            max_message_size=max_size,
            tls_cert=Path(tls_cert) if tls_cert else None,
            tls_key=Path(tls_key) if tls_key else None,
            relay=relay,
            retry_schedule=retry,
            give_up_after=self.duration("mailer", "give_up_after", timedelta(days=2)),
            command_auth=auth,
            insecure_from_only=self.value("security", "insecure_from_only", bool, False),
            dkim_pinned_keys=tuple(sorted((str(k), str(v)) for k, v in pinned.items())),
            templates_override=Path(templates) if templates else None,
            ack_daily_cap=self.value("intake", "ack_daily_cap", int, 5),
            followup_ack_interval=self.duration(
                "intake", "followup_ack_interval", timedelta(days=1)
            ),
            trusted_hosts=tuple(self.value("security", "trusted_hosts", list, [])),
            list_host_domain=self.value("security", "list_host", str),
            sweep_interval=self.duration(base, "sweep_interval", timedelta(seconds=30)),
            imap=self.imap(),
            dkim_signing=self.dkim_signing(),
            enact_by_any_member=self.value("policy", "enact_by_any_member", bool, False),
            consult_wait=self.duration("policy", "consult_wait", timedelta(days=5)),
            ack_watchdog=self.duration("policy", "ack_watchdog", timedelta(hours=1)),
            timeline_request_after=self.duration(
                "policy", "timeline_request_after", timedelta(days=6)
            ),
            update_after=self.duration("policy", "update_after", timedelta(days=7)),
            default_projection=self.duration("policy", "default_projection", timedelta(days=14)),
            deadlock_after=self.duration("policy", "deadlock_after", timedelta(days=7)),
            unilateral_reminder_after=self.duration(
                "policy", "unilateral_reminder_after", timedelta(hours=20)
            ),
            appeal_quorum=self.value("policy", "appeal_quorum", int, 0),
            digest_weekday=self._weekday(),
            digest_time=self._digest_time(),
            **addresses,
        )
