"""The one table of configuration keys: dotted name, kind, default, range or choices, help.

`casebook/config.py` reads the file from it, `check-config` validates with it, and
`tests/service/test_config.py` holds `config/casebook.example.toml` to it (every key there with this
help, and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ARRAYS = ("members", "council", "alternates", "delegates")  # [[name]] arrays of tables
# Their required keys count when present.
OPTIONAL_SECTIONS = ("intake.imap", "intake.form", "mailer.dkim")
PATH_KINDS = ("database", "folder", "templates", "file", "key", "cert", "ca")


@dataclass(frozen=True)
class Key:
    """One configuration key. `kind` says how its value is read and checked:

    text, url (an http or https address), int, float, bool, choice, address, duration,
    durations (a list), zone, clock (HH:MM),
    prefix, hosts (a list of host names), networks (a list of IP addresses or networks), names
    (a list of text), map (a table of text),
    database (a file whose folder must be writable), folder (writable), templates (a readable
    folder), file (readable), key (a PEM private key), cert (a PEM certificate chain), ca (PEM
    CA certificates).
    """

    name: str
    kind: str
    default: object = None
    help: str = ""
    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def section(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[1]


def _person_keys(array: str, roles: tuple[str, ...], role_help: str) -> tuple[Key, ...]:
    keys = (
        Key(f"{array}.name", "text", help="the person's name", required=True),
        Key(f"{array}.email", "address", help="their address", required=True),
        Key(f"{array}.aliases", "names", (), "other addresses or names that identify them"),
    )
    if roles:
        keys += (Key(f"{array}.role", "choice", "member", role_help, choices=roles),)
    return keys


PORT = {"low": 1, "high": 65535}
KEYS: tuple[Key, ...] = (
    Key("casebook.database", "database", "var/casebook.db", "the SQLite archive"),
    Key("casebook.spool", "folder", "var/spool",
        "spool.db: raw mail is committed here before the SMTP 250, until archived"),
    Key("casebook.timezone", "zone", "UTC",
        "the committee's time zone (digests, --now without offset)"),
    Key("casebook.case_prefix", "prefix", "CoC", "case numbers look like CoC-2026-007"),
    Key("casebook.committee_name", "text", "Code of Conduct Committee",
        "the name on every outgoing mail"),
    Key("casebook.templates", "templates", None, "site overrides, searched before templates/"),
    Key("casebook.sweep_interval", "duration", "30s",
        "how often the scheduler looks for due work (retries)", low=1),
    Key("links.code_of_conduct", "url", None,
        "the Code of Conduct, linked in mail to reporters, reported people and venues"),
    Key("links.reporting_guide", "url", None,
        "how reports are handled, linked in the reporter's acknowledgement"),
    Key("links.reporter_support", "url", None,
        "support for people who report (counselling, crisis lines), in the acknowledgement"),
    Key("links.reported_resources", "url", None,
        "resources for a reported person (how to apologise, guidance), in mail to them"),
    Key("addresses.reports", "address", None,
        "reporters write here; conduct+TOKEN@ are reply addresses", required=True),
    Key("addresses.appeals", "address", None, "appeals to the Executive Council",
        required=True),
    Key("addresses.committee_list", "address", None, "the committee's private list",
        required=True),
    Key("addresses.council", "address", None, "the Executive Council", required=True),
    Key("addresses.core_team", "address", None, "told of ongoing resolutions such as bans",
        required=True),
    Key("addresses.list_subscriber", "address", None,
        "if the list delivers its copy to this address"),
    Key("addresses.bounces", "address", None,
        'default: the reports local part + "-bounces"'),
    *_person_keys("members", ("chair", "member"),
                  "chair (conflict alerts, signs reprimands) or member"),
    *_person_keys("council", ("chair", "member"),
                  "the council's chair decides appeals alone (else a quorum)"),
    *_person_keys("alternates", (), ""),
    Key("delegates.name", "text", help="the delegate's name", required=True),
    Key("delegates.email", "address", help="the address their forwards come from",
        required=True),
    Key("delegates.event", "text", None, "the event they take reports at"),
    Key("intake.max_message_size", "int", 25 * 1024 * 1024,
        "bytes; larger mail is refused with 552", low=1024),
    Key("intake.max_parts", "int", 300,
        "MIME parts split out of one message; the rest stay in its raw bytes", low=1),
    Key("intake.ack_daily_cap", "int", 5,
        "new cases a day per sender before acks are folded into one", low=1),
    Key("intake.followup_ack_interval", "duration", "1d",
        'at most one "we received your message" per party of a case per interval'),
    Key("intake.smtp.host", "text", "127.0.0.1", "the address intake listens on"),
    Key("intake.smtp.port", "int", 8025, "the port intake listens on", low=0, high=65535),
    Key("intake.smtp.lmtp", "bool", False,
        "true: speak LMTP (behind Postfix/Exim) instead of SMTP"),
    Key("intake.smtp.tls_cert", "cert", None,
        "STARTTLS for a directly exposed intake: the certificate chain"),
    Key("intake.smtp.tls_key", "key", None, "and its private key"),
    Key("intake.limits.sender_burst", "int", 10,
        "messages one envelope sender may send at once before 451 4.7.1", low=1),
    Key("intake.limits.sender_per_hour", "int", 30,
        "then this many an hour (a forged sender's limit refills as fast)", low=1),
    Key("intake.limits.member_burst", "int", 100,
        "messages a member or council member may send at once, proved theirs (to their reply"
        " address, or DKIM-signed), once past the sender limit: the chair working through"
        " many cases is not refused", low=1),
    Key("intake.limits.member_per_hour", "int", 600, "then this many an hour", low=1),
    Key("intake.limits.global_burst", "int", 100,
        "messages at once to each class of address (reports and appeals, reply addresses,"
        " the list), from all senders together", low=1),
    Key("intake.limits.global_per_hour", "int", 600, "then this many an hour", low=1),
    Key("intake.limits.max_connections", "int", 100,
        "SMTP/LMTP connections at once; more are answered 421", low=1),
    Key("intake.limits.connections_per_client", "int", 20,
        "connections at once from one IP address (behind an MTA: at least its concurrency)",
        low=1),
    Key("intake.limits.timeout", "duration", "2min",
        "a connection idle this long (no command, no DATA line) is closed", low=1),
    Key("intake.limits.flood_quiet", "duration", "1h",
        "a flood ends after this long without a refusal; the next one alerts the committee"
        " again", low=1),
    Key("intake.limits.refusal_delay", "duration", "1s",
        "each refusal waits this long, and the tenth in a connection closes it (421), so a"
        " flood costs the flooder time, not casebook CPU", low=0),
    Key("intake.imap.host", "text", None, "the IMAP server", required=True),
    Key("intake.imap.port", "int", 993, "993 for implicit TLS, 143 otherwise", **PORT),
    Key("intake.imap.ssl", "bool", True, "implicit TLS; or ssl = false with starttls = true"),
    Key("intake.imap.starttls", "bool", False,
        "STARTTLS to the IMAP server, verifying its certificate"),
    Key("intake.imap.ca_file", "ca", None,
        "trust this CA for the IMAP server's certificate instead of the system's"),
    Key("intake.imap.username", "text", None, "the mailbox's login", required=True),
    Key("intake.imap.password_file", "file", None,
        "the password, from a file (e.g. a systemd credential)"),
    Key("intake.imap.password_env", "text", None,
        "or from this environment variable"),
    Key("intake.imap.folder", "text", "INBOX", "the folder polled"),
    Key("intake.imap.interval", "duration", "60s", "how often it is polled", low=1),
    Key("intake.imap.recipient", "address", None,
        "whose mail this mailbox holds (default: list_subscriber, else the list)"),
    Key("intake.imap.timeout", "float", 30.0, "seconds", low=1),
    Key("intake.form.host", "text", "127.0.0.1",
        "the web form (anonymous reports, follow-up pages) listens here"),
    Key("intake.form.port", "int", None, "and on this port", required=True, **PORT),
    Key("intake.form.tls_cert", "cert", None,
        "HTTPS without a reverse proxy: the certificate chain (see docs/operators/deploy.md)"),
    Key("intake.form.tls_key", "key", None, "and its private key"),
    Key("intake.form.max_attachment_size", "int", 5 * 1024 * 1024,
        "bytes per screenshot; larger ones are refused with the form kept", low=1024),
    Key("intake.form.max_attachments", "int", 3, "screenshots per report or reply", low=0,
        high=20),
    Key("intake.form.max_text_size", "int", 100_000,
        "characters in all text fields together", low=1000),
    Key("intake.form.max_image_pixels", "int", 25_000_000,
        "pixels a screenshot may have decoded (all frames together); more are refused with"
        " the form kept (a decompression bomb is refused before it is unpacked)",
        low=10_000, high=89_000_000),
    Key("intake.form.reports_per_hour", "int", 30,
        "reports the form takes an hour, from everyone together (no IP address is kept)",
        low=1),
    Key("intake.form.replies_per_hour", "int", 20,
        "replies one follow-up page takes an hour", low=1),
    Key("intake.form.reports_per_client", "int", 5,
        "reports one client (IP address, an IPv6 client's /64) may send an hour, so that no"
        " one closes the form to everyone; held only as an in-memory keyed hash whose key is"
        " replaced hourly", low=1),
    Key("intake.form.trusted_proxies", "networks", (),
        "reverse proxies (IP addresses or networks) whose X-Forwarded-For names the client;"
        " from anyone else the header is ignored"),
    Key("mailer.retry", "durations", ("1min", "5min", "15min", "1h", "4h"),
        "waits between attempts after a temporary failure"),
    Key("mailer.give_up_after", "duration", "2d",
        "then the mail is failed and the committee is told"),
    Key("mailer.dkim.domain", "text", None, "the d= of the signature", required=True),
    Key("mailer.dkim.selector", "text", None,
        "the s=: its public key is at SELECTOR._domainkey.DOMAIN", required=True),
    Key("mailer.dkim.private_key_file", "key", None, "the PEM private key", required=True),
    Key("mailer.smtp.host", "text", "127.0.0.1", "the relay casebook sends through"),
    Key("mailer.smtp.port", "int", 2525, "the relay's port", **PORT),
    Key("mailer.smtp.starttls", "bool", False,
        "STARTTLS to the relay, verifying its certificate"),
    Key("mailer.smtp.ca_file", "ca", None,
        "trust this CA for the relay's certificate instead of the system's"),
    Key("mailer.smtp.username", "text", None, "log in to the relay as this user"),
    Key("mailer.smtp.password_file", "file", None,
        "the password, from a file (e.g. a systemd credential)"),
    Key("mailer.smtp.password_env", "text", None, "or from this environment variable"),
    Key("mailer.smtp.timeout", "float", 30.0, "seconds", low=1),
    Key("policy.enact_by_any_member", "bool", False,
        "true: any member may #enact, not only the chair"),
    Key("policy.consult_wait", "duration", "5d",
        "#enact waits this long after #consult if no feedback came"),
    Key("policy.late_send_hold", "duration", "24h",
        "a scheduled #enact or #send this late (casebook was down) is held until #enact again"),
    Key("policy.ack_watchdog", "duration", "1h",
        "the committee is told if a case is still unacknowledged then"),
    Key("policy.timeline_request_after", "duration", "6d",
        "the committee is asked for #timeline DATE"),
    Key("policy.update_after", "duration", "7d",
        "the reporter gets an update with the timeline"),
    Key("policy.default_projection", "duration", "14d",
        "the projection in that update when no #timeline was set"),
    Key("policy.deadlock_after", "duration", "7d",
        "no consensus this long after #propose: escalated to the EC"),
    Key("policy.unilateral_reminder_after", "duration", "20h",
        "a member who raised #urgent is reminded to record #unilateral"),
    Key("policy.appeal_quorum", "int", None,
        "council members who must send the same #appeal decision (default: a majority of"
        " the non-conflicted; the council chair decides alone)", low=1),
    Key("digest.weekday", "choice", "monday",
        "the weekly digest to the Executive Council ...", choices=WEEKDAYS),
    Key("digest.time", "clock", "09:00", "... at this time in the committee's time zone"),
    Key("security.command_auth", "choice", "dkim",
        "dkim (a valid DKIM signature aligned with From) or token (personal reply"
        " addresses)", choices=("dkim", "token")),
    Key("security.insecure_from_only", "bool", False,
        "development only: trust From alone (warned at every start)"),
    Key("security.trusted_hosts", "hosts", (),
        "hosts whose Delivered-To / List-Id / ARC casebook trusts (and whose topmost"
        " Authentication-Results dkim= or dmarc= result counts for parties' mail casebook"
        " cannot check)"),
    Key("security.list_host", "text", None,
        "mail to the list address counts only with a valid DKIM signature (d=) or ARC seal of"
        " this domain (default: the committee list's domain); anything else is held"),
    Key("security.dkim_pinned_keys", "map", {},
        "DKIM keys as DNS would serve them, for offline verification"),
)  # fmt: skip
BY_NAME = {key.name: key for key in KEYS}
# Values an older casebook's own example configuration held that this one reads otherwise:
# (key, value) -> what to write instead. Accepted as the key's default, with a warning
# (docs/operators/upgrades.md lists them by version).
RETIRED_VALUES = {
    ("policy.appeal_quorum", 0): "remove the line (before 0.19, 0 meant the default: a majority"
    " of the non-conflicted)",
}
SECTIONS = {key.section for key in KEYS} | {"intake", "mailer", "security"}
