"""The configuration file, read from one table of keys.

`KEYS` (`casebook/configkeys.py`) names every key casebook reads (dotted name, kind, default,
range or choices, help). The reader, `check-config`'s validation and the example-file test all
come from it; the frozen
`Settings` it builds are archive's (`archive/settings.py`), so intake, archive and mailer never
import this module. Every problem is collected and reported at once, each once, one line each.
Relative paths are taken from the configuration file's folder, never the working directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from archive.address_grammar import is_address
from archive.durations import AmbiguousUnit, parse_duration
from archive.settings import (
    DkimSigning,
    EventDelegate,
    Imap,
    IntakeLimits,
    Links,
    Person,
    Relay,
    Settings,
    WebForm,
)
from casebook.configfiles import check_paths
from casebook.configkeys import (
    ARRAYS,
    BY_NAME,
    KEYS,
    OPTIONAL_SECTIONS,
    PATH_KINDS,
    RETIRED_VALUES,
    SECTIONS,
    WEEKDAYS,
    Key,
)

LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
HOST_RE = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*\.?$|^[0-9a-fA-F:]+$")


# The sections whose keys are each one field of Settings, named as the key's leaf unless
# RENAMED says otherwise; the keys in DERIVED are read into their field by `derived`.
FIELD_SECTIONS = {
    "casebook",
    "addresses",
    "intake",
    "intake.smtp",
    "mailer",
    "security",
    "policy",
    "digest",
}
RENAMED = {
    "casebook.templates": "templates_override",
    "addresses.council": "council_address",
    "intake.smtp.host": "intake_host",
    "intake.smtp.port": "intake_port",
    "mailer.retry": "retry_schedule",
    "security.list_host": "list_host_domain",
    "digest.time": "digest_time",
}
DERIVED = {
    "addresses.bounces",
    "security.dkim_pinned_keys",
    "policy.appeal_quorum",
    "digest.weekday",
}


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def config_duration(text: str, warn: Callable[[str], None]) -> timedelta:
    """A configuration's duration in the one grammar (archive.durations).

    `m` always meant minutes in this file (and months in `#ban`): an older configuration's `m`
    is still read as minutes, with a warning naming the exact replacement, so an upgrade never
    stops the service over it."""
    try:
        return parse_duration(text)
    except AmbiguousUnit as exc:
        warn(
            f"{str(text).strip()!r}: m is no longer a unit (it meant months in #ban);"
            f' write "{exc.number}min" for minutes (read as minutes, as before)'
        )
        return timedelta(minutes=exc.number)


def load_settings(path: Path, *, check_files: bool = False) -> Settings:
    """Read and validate the configuration file; ConfigError lists every problem found.

    With `check_files` the files it names must be readable and its folders writable too
    (`check-config` and `serve`: the places where those files must exist)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such configuration file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: a folder, not a configuration file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return settings_from_dict(raw, base=path.absolute().parent, check_files=check_files)


def settings_from_dict(raw: dict, base: Path | None = None, *, check_files=False) -> Settings:
    """Settings from parsed TOML; relative paths are taken from `base` (else the cwd)."""
    reader = _Reader(raw, base)
    settings = reader.build()
    if reader.warnings:
        import logging  # only then: the read-only commands load no more than they use

        for warning in reader.warnings:
            logging.getLogger("casebook").warning("config: %s", warning)
    problems = reader.problems
    if check_files:
        problems += check_paths(reader.paths)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    assert settings is not None
    return settings


def _retired(dotted: str, value: object) -> bool:
    plain = isinstance(value, int | float | str) and not isinstance(value, bool)
    return plain and (dotted, value) in RETIRED_VALUES


def _where(section: str) -> str:
    return f"[{section}]"


def _hint(word: str, known) -> str:
    import difflib  # only for a misspelt key

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Reads every key once from the raw TOML, collecting problems instead of stopping."""

    def __init__(self, raw: dict, base: Path | None):
        self.raw = raw
        self.base = base
        self.problems: list[str] = []
        self.warnings: list[str] = []  # accepted, but to be changed (RETIRED_VALUES)
        self.values: dict[str, object] = {}  # dotted name -> value read (defaults filled in)
        self.present: set[str] = set()  # sections present in the file
        self.entries: dict[str, list[tuple[str, dict]]] = {a: [] for a in ARRAYS}
        self.paths: list[tuple[str, str, Path]] = []  # (where, kind, path) for check_paths

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def warn_about(self, key: Key) -> Callable[[str], None]:
        """A warning about `key`'s value: accepted, but to be written otherwise."""
        return lambda text: self.warnings.append(f"{_where(key.section)} {key.leaf}: {text}")

    # -- walking the file -------------------------------------------------------------------

    def walk(self) -> None:
        for name, node in self.raw.items():
            if name in ARRAYS:
                self.walk_array(name, node)
            elif name in SECTIONS:
                self.walk_table(name, node)
            else:
                known = set(ARRAYS) | {s.split(".")[0] for s in SECTIONS}
                self.problem(f"unknown table [{name}]{_hint(name, known)}")
        for key in KEYS:
            if key.section in ARRAYS or key.name in self.values:
                continue
            if key.required and (
                key.section not in OPTIONAL_SECTIONS or key.section in self.present
            ):
                self.problem(f"{_where(key.section)} {key.leaf} is required")
            default = key.default
            self.values[key.name] = None if default is None else self.convert(key, default, "")

    def walk_table(self, section: str, node: object) -> None:
        if not isinstance(node, dict):
            self.problem(f"[{section}] must be a table")
            return
        self.present.add(section)
        known = {k.leaf for k in KEYS if k.section == section}
        known |= {s.rsplit(".", 1)[1] for s in SECTIONS if s.startswith(section + ".")}
        for leaf, value in node.items():
            dotted = f"{section}.{leaf}"
            if dotted in SECTIONS and dotted not in BY_NAME:
                self.walk_table(dotted, value)
            elif _retired(dotted, value):
                instead = RETIRED_VALUES[(dotted, value)]
                self.warnings.append(f"[{section}] {leaf} = {value!r} is retired: {instead}")
            elif dotted in BY_NAME:
                key = BY_NAME[dotted]
                self.values[dotted] = self.convert(key, value, _where(section))
            else:
                self.problem(f"[{section}] unknown key {leaf!r}{_hint(leaf, known)}")

    def walk_array(self, array: str, node: object) -> None:
        if not isinstance(node, list):
            self.problem(f"[[{array}]] must be an array of tables")
            return
        keys = {k.leaf: k for k in KEYS if k.section == array}
        for n, entry in enumerate(node, 1):
            where = f"[[{array}]] #{n}"
            if not isinstance(entry, dict):
                self.problem(f"{where} must be a table")
                continue
            name = entry.get("name")
            if isinstance(name, str) and name.strip():
                where += f" ({name.strip()})"
            read: dict[str, object] = {}
            for leaf, value in entry.items():
                if leaf in keys:
                    read[leaf] = self.convert(keys[leaf], value, where)
                else:
                    self.problem(f"{where} unknown key {leaf!r}{_hint(leaf, keys)}")
            for leaf, key in keys.items():
                if leaf not in entry:
                    if key.required:
                        self.problem(f"{where} {leaf} is required")
                    read[leaf] = key.default
            self.entries[array].append((where, read))

    # -- one value --------------------------------------------------------------------------

    def convert(self, key: Key, value: object, where: str) -> object:
        """The value read for `key`, or None after recording one problem."""
        label = f"{where} {key.leaf}".strip() if where else f"{_where(key.section)} {key.leaf}"
        try:
            return self.read(key, value)
        except ValueError as exc:
            text = str(exc)
            self.problem(f"{label}{'' if text.startswith(':') else ' '}{text}")
            return None

    def read(self, key: Key, value: object) -> object:
        if key.kind in PATH_KINDS:
            return self.path(key, value)
        if key.kind in _WARNING_READERS:
            return _WARNING_READERS[key.kind](key, value, self.warn_about(key))
        return _READERS[key.kind](key, value)

    def path(self, key: Key, value: object) -> Path:
        text = _text(key, value)
        if not text.strip():
            raise ValueError("must not be empty")
        path = Path(text).expanduser()
        if self.base is not None and not path.is_absolute():
            path = Path(os.path.normpath(self.base / path))
        self.paths.append((f"{_where(key.section)} {key.leaf}", key.kind, path))
        return path

    # -- relations between keys, then the Settings -------------------------------------------

    def build(self) -> Settings | None:
        self.walk()
        people = {a: self.people(a) for a in ("members", "council", "alternates")}
        self.check_relations(people)
        self.check_own_addresses(people)
        self.check_people(people)
        if self.problems:
            return None
        return Settings(**self.by_leaf(), **self.derived(), **people, **self.groups())

    def by_leaf(self) -> dict[str, object]:
        """The keys that are one Settings field each, named by their leaf or in RENAMED."""
        return {
            RENAMED.get(key.name, key.leaf): self.values[key.name]
            for key in KEYS
            if key.section in FIELD_SECTIONS and key.name not in DERIVED
        }

    def derived(self) -> dict[str, object]:
        """The fields a key's value is turned into, or that default to another's."""
        v = self.values
        local, domain = v["addresses.reports"].rsplit("@", 1)
        return {
            "bounces": v["addresses.bounces"] or f"{local}-bounces@{domain}",
            "dkim_pinned_keys": tuple(sorted(v["security.dkim_pinned_keys"].items())),
            "appeal_quorum": v["policy.appeal_quorum"] or 0,
            "digest_weekday": WEEKDAYS.index(v["digest.weekday"]),
        }

    def groups(self) -> dict[str, object]:
        """The fields that are a section of their own (a value object, or None when absent)."""
        present = self.present
        return {
            "delegates": self.delegates(),
            "limits": IntakeLimits(**self.group("intake.limits")),
            "relay": Relay(**self.group("mailer.smtp")),
            "imap": Imap(**self.group("intake.imap")) if "intake.imap" in present else None,
            "form": WebForm(**self.group("intake.form")) if "intake.form" in present else None,
            "dkim_signing": self.dkim_signing(),
            "links": Links(**self.group("links")),
        }

    def group(self, section: str) -> dict:
        return {k.leaf: self.values[k.name] for k in KEYS if k.section == section}

    def dkim_signing(self) -> DkimSigning | None:
        if "mailer.dkim" not in self.present:
            return None
        v = self.values
        return DkimSigning(
            v["mailer.dkim.domain"], v["mailer.dkim.selector"], v["mailer.dkim.private_key_file"]
        )

    def delegates(self) -> tuple[EventDelegate, ...]:
        return tuple(
            EventDelegate(e["name"].strip(), e["email"], e["event"])
            for _, e in self.entries["delegates"]
            if e["name"] and e["email"]
        )

    def people(self, array: str) -> tuple[Person, ...]:
        found = []
        for _, entry in self.entries[array]:
            if not (entry["name"] and entry["email"]):
                continue
            role = entry.get("role") or "member"
            if array != "members":
                role = "council-chair" if role == "chair" else "council"
            found.append(
                Person(entry["name"].strip(), entry["email"], entry["aliases"] or (), role)
            )
        return tuple(found)

    def check_relations(self, people: dict[str, tuple[Person, ...]]) -> None:
        v = self.values
        reports = v["addresses.reports"]
        if reports and "+" in reports.rsplit("@", 1)[0]:
            self.problem("[addresses] reports must not contain '+' (used for reply addresses)")
        if not self.entries["members"] and not self.entries["council"]:
            self.problem("no [[members]] and no [[council]]: nobody would receive a report")
        for array, chair in (("members", "chair"), ("council", "council-chair")):
            if sum(1 for p in people[array] if p.role == chair) > 1:
                self.problem(f"[[{array}]] names more than one chair")
        for array in ("members", "council", "alternates", "delegates"):
            emails = [e["email"].lower() for _, e in self.entries[array] if e["email"]]
            for email in sorted({e for e in emails if emails.count(e) > 1}):
                self.problem(f"[[{array}]] lists {email} more than once")
        quorum, council = v["policy.appeal_quorum"], len(self.entries["council"])
        if quorum and council and quorum > council:
            self.problem(
                f"[policy] appeal_quorum {quorum} is more than the {council} council"
                " member(s): no appeal could be decided"
            )
        if bool(v["intake.smtp.tls_cert"]) != bool(v["intake.smtp.tls_key"]):
            self.problem("[intake.smtp] tls_cert and tls_key go together")
        if "intake.form" in self.present:
            if bool(v["intake.form.tls_cert"]) != bool(v["intake.form.tls_key"]):
                self.problem("[intake.form] tls_cert and tls_key go together")
            smtp = (v["intake.smtp.host"], v["intake.smtp.port"])
            if (v["intake.form.host"], v["intake.form.port"]) == smtp:
                self.problem("[intake.form] cannot listen on the SMTP intake's own port")
        if v["mailer.smtp.username"] and not (
            v["mailer.smtp.password_file"] or v["mailer.smtp.password_env"]
        ):
            self.problem("[mailer.smtp] username needs password_file or password_env")
        if "intake.imap" in self.present:
            if v["intake.imap.ssl"] and v["intake.imap.starttls"]:
                self.problem("[intake.imap] ssl and starttls: choose one (ssl is implicit TLS)")
            if not (v["intake.imap.password_file"] or v["intake.imap.password_env"]):
                self.problem("[intake.imap] needs password_file or password_env")

    def check_own_addresses(self, people: dict[str, tuple[Person, ...]]) -> None:
        """Nothing casebook mails may be its own intake address: it would mail itself."""
        v = self.values
        own = {
            a.lower(): f"the {k} address"
            for k in ("reports", "appeals")
            if (a := v[f"addresses.{k}"])
        }
        for leaf in ("committee_list", "council", "core_team"):
            address = v[f"addresses.{leaf}"]
            if address and address.lower() in own:
                self.problem(
                    f"[addresses] {leaf} is {own[address.lower()]}: casebook would mail itself"
                )
        for array, found in people.items():
            for person in found:
                for address in (person.email, *person.aliases):
                    if address.lower() in own:
                        what = own[address.lower()]
                        self.problem(
                            f"[[{array}]] ({person.name}) {address} is {what}: casebook would"
                            " mail itself"
                        )
        host = v["security.list_host"]
        if host is not None and not HOST_RE.match(host):
            self.problem(
                f"[security] list_host must be a host name, e.g. lists.example.org, not {host!r}"
            )

    def check_people(self, people: dict[str, tuple[Person, ...]]) -> None:
        """One person, one seat: no council member on the committee, no alias of another."""
        committee = {a.lower() for p in people["members"] for a in (p.email, *p.aliases)}
        for person in people["council"]:
            if {a.lower() for a in (person.email, *person.aliases)} & committee:
                self.problem(
                    f"[[council]] ({person.name}) {person.email} is also a committee member:"
                    " an appeal would be decided by the committee it is about"
                )
        owners = {p.email.lower(): p.name for a in ("members", "council") for p in people[a]}
        for array in ("members", "council"):
            for person in people[array]:
                for alias in person.aliases:
                    owner = owners.get(alias.lower())
                    if owner is not None and owner != person.name:
                        self.problem(
                            f"[[{array}]] ({person.name}) alias {alias} is {owner}'s address"
                        )


# -- readers by kind: each returns the value or raises ValueError with what is wrong ---------


def _text(key: Key, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value!r}")
    return value


def _url(key: Key, value: object) -> str:
    """An http(s) address a reader can open: a host, no spaces, nothing a mail could misread."""
    text = _text(key, value)
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not HOST_RE.match(parts.hostname or "")
        or any(c.isspace() or not c.isprintable() for c in text)
        or len(text) > 500
    ):
        raise ValueError(
            f'must be an http(s) address, e.g. "https://example.org/conduct", not {text!r}'
        )
    return text


def _number(key: Key, value: object) -> int | float:
    if key.kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"must be a whole number, not {value!r}")
    if key.kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"must be a number, not {value!r}")
        value = float(value)
    _check_range(key, value, str(value))
    return value


def _check_range(key: Key, value, shown: str) -> None:
    if key.low is not None and key.high is not None and not key.low <= value <= key.high:
        raise ValueError(f"must be {key.low:g}-{key.high:g}, not {shown}")
    if key.low is not None and value < key.low:
        raise ValueError(f"must be at least {key.low:g}, not {shown}")


def _bool(key: Key, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _choice(key: Key, value: object) -> str:
    text = _text(key, value).lower()
    if text not in key.choices:
        raise ValueError(f"must be one of {', '.join(key.choices)}, not {value!r}")
    return text


def _address(key: Key, value: object) -> str:
    if not is_address(_text(key, value), ascii_only=True):
        raise ValueError(f"is not a plain mail address: {value!r}")
    return value


def _duration(key: Key, value: object, warn: Callable[[str], None]) -> timedelta:
    try:
        duration = config_duration(_text(key, value), warn)
    except ValueError as exc:
        raise ValueError(f": {exc}") from None
    if key.low is not None and duration.total_seconds() < key.low:
        raise ValueError(f"must be at least {key.low:g}s, not {value!r}")
    return duration


def _durations(key: Key, value: object, warn: Callable[[str], None]) -> tuple[timedelta, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f'must be a list of durations such as ["1min", "1h"], not {value!r}')
    try:
        return tuple(config_duration(_text(key, t), warn) for t in value)
    except ValueError as exc:
        raise ValueError(f": {exc}") from None


def _zone(key: Key, value: object) -> str:
    text = _text(key, value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a known time zone") from None
    return text


def _clock(key: Key, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise ValueError(f"must be HH:MM, e.g. 09:00, not {value!r}")
    return text


def _prefix(key: Key, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,15}", text):
        raise ValueError(f"must be letters and digits, e.g. CoC, not {value!r}")
    return text


def _names(key: Key, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(a, str) for a in value):
        raise ValueError(f"must be a list of text, not {value!r}")
    return tuple(value)


def _hosts(key: Key, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(h, str) and HOST_RE.match(h) for h in value
    ):
        raise ValueError(f'must be a list of host names, e.g. ["lists.example.org"], not {value!r}')
    return tuple(value)


def _networks(key: Key, value: object) -> tuple[str, ...]:
    """IP addresses or networks ("127.0.0.1", "10.0.0.0/8", "::1"), checked here and kept as
    text (archive's Settings stay plain values; the web form makes them networks)."""
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise ValueError(
            f'must be a list of IP addresses or networks, e.g. ["127.0.0.1"], not {value!r}'
        )
    for network in value:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{network!r} is not an IP address or network") from None
    return tuple(value)


def _map(key: Key, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("must be a table")
    for name, record in value.items():
        if "._domainkey." not in name or not isinstance(record, str) or "p=" not in record:
            raise ValueError(f'{name!r} must be "SELECTOR._domainkey.DOMAIN" = "v=DKIM1; … p=…"')
    return dict(value)


# How each kind of key is read: the value, or ValueError saying what is wrong with it.
_READERS: dict[str, Callable[[Key, object], object]] = {
    "text": _text,
    "url": _url,
    "int": _number,
    "float": _number,
    "bool": _bool,
    "choice": _choice,
    "address": _address,
    "zone": _zone,
    "clock": _clock,
    "prefix": _prefix,
    "names": _names,
    "hosts": _hosts,
    "networks": _networks,
    "map": _map,
}
# These also warn of a value accepted but to be written otherwise (`config_duration`).
_WARNING_READERS = {"duration": _duration, "durations": _durations}
