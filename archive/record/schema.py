"""The archive's tables, created and changed only through named migrations.

Times are UTC ISO 8601 text (`*_at`); JSON columns hold lists and objects of plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations


class MigrationSet:
    """The named migrations in order, registered as sqlite-utils' `Migrations` registers them
    (`@migrations()`), but without importing sqlite-utils until one is applied: the commands
    that only read the archive check the names and never load it (it costs ~65 ms a start)."""

    def __init__(self, name: str):
        self.name = name
        self._registered: list[tuple[str, Callable, bool]] = []

    def __call__(self, *, name: str | None = None, transactional: bool = True) -> Callable:
        def register(fn: Callable) -> Callable:
            self._registered.append((name or fn.__name__, fn, transactional))
            return fn

        return register

    def names(self) -> list[str]:
        return [name for name, _, _ in self._registered]

    def _migrations(self) -> Migrations:
        from sqlite_utils.migrations import Migrations

        real = Migrations(self.name)
        for name, fn, transactional in self._registered:
            real(name=name, transactional=transactional)(fn)
        return real

    def apply(self, db: Database, **kwargs) -> None:
        self._migrations().apply(db, **kwargs)

    def pending(self, db: Database) -> list:
        return self._migrations().pending(db)


migrations = MigrationSet("casebook")

INITIAL = [
    # Installation-wide values (the loop-header id).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Every delivery of a message (the same message may arrive twice). `spool_id` is the row
    # in the spool it came from, so a crash between archive and spool never ingests it twice.
    # `raw` is kept only when the bytes differ from the copy in `messages` (trace headers).
    """CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        spool_id INTEGER UNIQUE,
        received_at TEXT NOT NULL,
        transport TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        envelope_to TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        raw BLOB,
        status TEXT NOT NULL,
        message_pk INTEGER REFERENCES messages(id),
        processed_at TEXT NOT NULL,
        error TEXT
    )""",
    # One row per distinct message (by Message-ID), incoming or sent.
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        kind TEXT NOT NULL,
        case_pk INTEGER REFERENCES cases(id),
        held INTEGER NOT NULL DEFAULT 0,
        held_reason TEXT,
        from_addr TEXT,
        from_name TEXT,
        to_addrs TEXT NOT NULL DEFAULT '[]',
        subject TEXT,
        date TEXT,
        in_reply_to TEXT,
        refs TEXT NOT NULL DEFAULT '[]',
        body_text TEXT,
        defects TEXT NOT NULL DEFAULT '[]',
        sha256 TEXT NOT NULL,
        raw BLOB NOT NULL,
        archived_at TEXT NOT NULL
    )""",
    "CREATE INDEX messages_case ON messages(case_pk)",
    """CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        message_pk INTEGER NOT NULL REFERENCES messages(id),
        filename TEXT,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX attachments_message ON attachments(message_pk)",
    """CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        ref TEXT NOT NULL UNIQUE,
        year INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        urgent INTEGER NOT NULL DEFAULT 0,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        conflicted TEXT NOT NULL DEFAULT '[]',
        UNIQUE (year, seq)
    )""",
    # Everyone a case involves, each with an unguessable reply token for its reply address.
    """CREATE TABLE parties (
        id INTEGER PRIMARY KEY,
        case_pk INTEGER NOT NULL REFERENCES cases(id),
        role TEXT NOT NULL,
        name TEXT,
        email TEXT,
        token TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX parties_case ON parties(case_pk)",
    # The audit log: append-only, enforced by the triggers below.
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        case_pk INTEGER REFERENCES cases(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        message_pk INTEGER REFERENCES messages(id)
    )""",
    "CREATE INDEX events_case ON events(case_pk)",
    """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    # Mail to send. Recipients are resolved from `audience` when the mail is sent.
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        case_pk INTEGER REFERENCES cases(id),
        template TEXT NOT NULL,
        audience TEXT NOT NULL,
        to_addr TEXT,
        party_pk INTEGER REFERENCES parties(id),
        context TEXT NOT NULL DEFAULT '{}',
        in_reply_to TEXT,
        refs TEXT NOT NULL DEFAULT '[]',
        auto_submitted TEXT NOT NULL,
        fold_key TEXT,
        status TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    )""",
    "CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'queued'",
    "CREATE INDEX outbox_case ON outbox(case_pk, template)",
    "CREATE UNIQUE INDEX outbox_fold ON outbox(fold_key) WHERE status = 'queued'",
    # One row per copy handed to the relay, so a retry after a crash skips what went out.
    """CREATE TABLE outbox_sends (
        outbox_pk INTEGER NOT NULL REFERENCES outbox(id),
        recipient TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (outbox_pk, recipient)
    )""",
    """CREATE TABLE deadlines (
        id INTEGER PRIMARY KEY,
        case_pk INTEGER REFERENCES cases(id),
        kind TEXT NOT NULL,
        due_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        fired_at TEXT,
        cancelled_at TEXT,
        payload TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE INDEX deadlines_due ON deadlines(due_at)
       WHERE fired_at IS NULL AND cancelled_at IS NULL""",
    # Only one sender at a time: whoever holds the lease until it expires.
    """CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
]


@migrations()
def m001_initial(db: Database) -> None:
    for statement in INITIAL:
        db.execute(statement)


COMMITTEE_WORK = [
    # Per-case committee facts set by commands.
    "ALTER TABLE cases ADD COLUMN recused TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE cases ADD COLUMN assignee TEXT",
    "ALTER TABLE cases ADD COLUMN violation TEXT",
    "ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases(id)",
    # A reporter who asked for no further contact, or other parties' standing wishes.
    "ALTER TABLE parties ADD COLUMN no_contact INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE parties ADD COLUMN consent TEXT",
    # Each #propose is a proposal with its own tally; a new one supersedes the open one.
    """CREATE TABLE proposals (
        id INTEGER PRIMARY KEY,
        case_pk INTEGER NOT NULL REFERENCES cases(id),
        resolution TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        proposed_by TEXT NOT NULL,
        proposed_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        consulted_at TEXT,
        enacted_at TEXT
    )""",
    "CREATE INDEX proposals_case ON proposals(case_pk)",
    """CREATE TABLE votes (
        proposal_pk INTEGER NOT NULL REFERENCES proposals(id),
        member TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('agree', 'object', 'abstain')),
        reason TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (proposal_pk, member)
    )""",
    # Which messages' commands already ran: the same message twice changes nothing twice.
    """CREATE TABLE command_runs (
        message_id TEXT PRIMARY KEY,
        case_pk INTEGER REFERENCES cases(id),
        outcome TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
]


@migrations()
def m002_committee_work(db: Database) -> None:
    for statement in COMMITTEE_WORK:
        db.execute(statement)


@migrations()
def m003_digests(db: Database) -> None:
    # One row per weekly slot whose digest was queued: sent once, however often the sweep runs.
    db.execute(
        "CREATE TABLE digests (slot TEXT PRIMARY KEY, queued_at TEXT NOT NULL,"
        " copies INTEGER NOT NULL)"
    )


@migrations()
def m004_bans(db: Database) -> None:
    # The ban register the manual asks for: every ban, for review.
    db.execute(
        """CREATE TABLE bans (
            id INTEGER PRIMARY KEY,
            case_pk INTEGER NOT NULL REFERENCES cases(id),
            who TEXT NOT NULL,
            email TEXT,
            spaces TEXT NOT NULL,
            start_at TEXT NOT NULL,
            end_at TEXT,
            review_at TEXT,
            status TEXT NOT NULL DEFAULT 'active',
            unilateral INTEGER NOT NULL DEFAULT 0,
            decided_by TEXT NOT NULL,
            ended_at TEXT
        )"""
    )


@migrations()
def m005_appeals(db: Database) -> None:
    db.execute(
        """CREATE TABLE appeals (
            id INTEGER PRIMARY KEY,
            case_pk INTEGER REFERENCES cases(id),
            message_pk INTEGER NOT NULL REFERENCES messages(id),
            appellant TEXT,
            received_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            previous_state TEXT,
            decision TEXT,
            decision_text TEXT,
            decided_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE appeal_votes (
            appeal_pk INTEGER NOT NULL REFERENCES appeals(id),
            member TEXT NOT NULL,
            decision TEXT NOT NULL,
            text TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (appeal_pk, member)
        )"""
    )


@migrations()
def m006_mediations(db: Database) -> None:
    db.execute(
        """CREATE TABLE mediations (
            id INTEGER PRIMARY KEY,
            case_pk INTEGER NOT NULL REFERENCES cases(id),
            mediator TEXT NOT NULL,
            mediator_name TEXT,
            status TEXT NOT NULL,
            reporter_answer TEXT,
            reported_answer TEXT,
            proposed_by TEXT NOT NULL,
            started_at TEXT NOT NULL,
            settled_at TEXT,
            due_at TEXT,
            report TEXT,
            ended_at TEXT
        )"""
    )


@migrations()
def m007_search(db: Database) -> None:
    # Full-text search over archived messages (subject, sender, text), kept by triggers.
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, from_addr, body_text,"
        " content='messages', content_rowid='id')"
    )
    db.execute(
        "INSERT INTO messages_fts (rowid, subject, from_addr, body_text)"
        " SELECT id, subject, from_addr, body_text FROM messages"
    )
    db.execute(
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
           INSERT INTO messages_fts (rowid, subject, from_addr, body_text)
           VALUES (new.id, new.subject, new.from_addr, new.body_text); END"""
    )
    db.execute(
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, from_addr, body_text
           ON messages BEGIN
           INSERT INTO messages_fts (messages_fts, rowid, subject, from_addr, body_text)
           VALUES ('delete', old.id, old.subject, old.from_addr, old.body_text);
           INSERT INTO messages_fts (rowid, subject, from_addr, body_text)
           VALUES (new.id, new.subject, new.from_addr, new.body_text); END"""
    )


@migrations()
def m008_delivery_keys(db: Database) -> None:
    # Deliveries are named by the spool row's random key, not its row id: a fresh spool beside
    # a restored archive numbers its rows from 1 again, and an id the archive already holds
    # would drop the new message unread. `spool_id` stays for the history and is no longer
    # written. Earlier deliveries get the name the spool gives its rows from before the keys.
    db.execute("ALTER TABLE deliveries ADD COLUMN spool_key TEXT")
    db.execute(
        "UPDATE deliveries SET spool_key = 'spool-id:' || spool_id WHERE spool_id IS NOT NULL"
    )
    db.execute("CREATE UNIQUE INDEX deliveries_spool_key ON deliveries (spool_key)")


@migrations()
def m009_message_identity(db: Database) -> None:
    # A message that reused another's Message-ID is archived under an ID of its own; this is
    # the ID it claimed, so its own later copies are still recognised as copies.
    db.execute("ALTER TABLE messages ADD COLUMN claimed_id TEXT")
    db.execute("CREATE INDEX messages_claimed ON messages(claimed_id) WHERE claimed_id IS NOT NULL")


@migrations()
def m010_message_conflicts(db: Database) -> None:
    # Who a message names, as intake found it: a held message's conflicts count when #merge
    # takes it into a case, long after the parse.
    db.execute("ALTER TABLE messages ADD COLUMN conflicts TEXT NOT NULL DEFAULT '[]'")


@migrations()
def m011_outbox_delivery(db: Database) -> None:
    # Delivery data moves out of the template's fields: the From name of a member's relayed
    # mail and the member it skips; who queued a mail, and who released it past the leak guard.
    for column in ("from_name", "exclude_addr", "queued_by", "released_by"):
        db.execute(f"ALTER TABLE outbox ADD COLUMN {column} TEXT")
    db.execute(
        "UPDATE outbox SET from_name = json_extract(context, '$.from_name'),"
        " exclude_addr = json_extract(context, '$.exclude'),"
        " context = json_remove(context, '$.from_name', '$.exclude')"
        " WHERE template = 'committee/relay'"
    )


@migrations()
def m012_outbox_requeued(db: Database) -> None:
    # `casebook outbox retry` queues failed mail again; the give-up clock restarts then, while
    # `created_at` keeps when the mail was first queued.
    db.execute("ALTER TABLE outbox ADD COLUMN requeued_at TEXT")


@migrations()
def m014_scale_indexes(db: Database) -> None:
    # At 100k messages and 10k cases these were full scans: a search hit's arrival (its first
    # delivery), the digest's look-ups of events by action, and each report's count of the
    # acknowledgements its sender got today.
    db.execute("CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries(message_pk)")
    db.execute("CREATE INDEX IF NOT EXISTS events_action ON events(action, case_pk, at)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS outbox_sender_acks"
        " ON outbox(template, to_addr COLLATE NOCASE, created_at)"
    )


@migrations()
def m015_floods(db: Database) -> None:
    # Floods the SMTP edge refused (451 4.7.1), each by the key the edge gave it, so the
    # committee is alerted once per flood however often the worker reads the spool's note.
    # `sender` is the envelope sender refused first (forgeable); the alert does not name it.
    db.execute(
        """CREATE TABLE floods (
            id INTEGER PRIMARY KEY,
            flood_key TEXT NOT NULL UNIQUE,
            address_class TEXT NOT NULL,
            reason TEXT NOT NULL,
            sender TEXT NOT NULL,
            started_at TEXT NOT NULL,
            alerted_at TEXT NOT NULL
        )"""
    )


@migrations()
def m016_follow_up_pages(db: Database) -> None:
    # A web-form reporter's private follow-up page: only the SHA-256 of its secret is kept
    # (the secret itself was shown once on the receipt page), with the case and the reporter
    # it speaks for; `created_at` to the minute, like everything about a form report.
    db.execute(
        """CREATE TABLE follow_up_pages (
            id INTEGER PRIMARY KEY,
            secret_sha256 TEXT NOT NULL UNIQUE,
            case_pk INTEGER NOT NULL REFERENCES cases(id),
            party_pk INTEGER NOT NULL REFERENCES parties(id),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX follow_up_pages_party ON follow_up_pages(party_pk)")


@migrations()
def m017_list_indexes(db: Database) -> None:
    # `casebook cases` lists every case: read from an index that holds what it shows, it no
    # longer reads each case's row (its report fields, often longer than a page), and each
    # case's first reporter comes from an index as well (10k cases: 21 ms to 13 ms).
    db.execute(
        "CREATE INDEX IF NOT EXISTS cases_list"
        " ON cases(year, seq, ref, state, urgent, opened_at, conflicted)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS parties_role ON parties(case_pk, role, id, email)")


@migrations()
def m018_outgoing_search(db: Database) -> None:
    # Outgoing copies are indexed for search once per sending chunk (archive.record.fulltext.
    # index_sent_copies), not each in its own copy's commit: a commit that touches the index
    # writes a new index segment, and that was a third of the cost of recording a sent copy.
    # Incoming mail is still indexed as it is archived. `fts_outgoing_through` is the highest
    # message row whose outgoing copy is indexed; messages are never deleted, so rows above
    # it are exactly those still to index.
    db.execute("DROP TRIGGER messages_fts_insert")
    db.execute(
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
           WHEN new.direction = 'in' BEGIN
           INSERT INTO messages_fts (rowid, subject, from_addr, body_text)
           VALUES (new.id, new.subject, new.from_addr, new.body_text); END"""
    )
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value)"
        " VALUES ('fts_outgoing_through', (SELECT COALESCE(MAX(id), 0) FROM messages))"
    )


@migrations()
def m019_case_deadlines(db: Database) -> None:
    # A case's pending deadlines (read when a clock is stopped or shown) came from a scan of
    # every pending deadline of every case: each sent acknowledgement paid for all open cases.
    db.execute(
        "CREATE INDEX IF NOT EXISTS deadlines_case ON deadlines(case_pk, kind)"
        " WHERE fired_at IS NULL AND cancelled_at IS NULL"
    )


@migrations()
def m020_months_spelt_mo(db: Database) -> None:
    # One duration grammar (archive/record/durations.py): a bare `m` is refused. Proposals written
    # before it said `6m` for six months (#propose temporary-ban / cooling-off); they keep
    # that meaning, in today's spelling, so a later #enact or its clock reads `6mo`.
    from archive.record.durations import months_as_once_meant
    from archive.workflow.ladder import DURATION, RUNGS

    for pk, resolution, args in db.execute("SELECT id, resolution, args FROM proposals").fetchall():
        row = RUNGS.get(resolution)
        spelt = months_as_once_meant(args)
        if row and DURATION in row.args and spelt != args:
            db.execute("UPDATE proposals SET args = ? WHERE id = ?", [spelt, pk])


@migrations()
def m021_mediation_consent_and_vetting(db: Database) -> None:
    # The candidate mediator is asked too (the manual: "find a candidate who can serve"), and
    # each party's vetting of the mediator's report is kept with it, corrections and all.
    db.execute("ALTER TABLE mediations ADD COLUMN mediator_answer TEXT")
    db.execute(
        """CREATE TABLE mediation_vettings (
            id INTEGER PRIMARY KEY,
            mediation_pk INTEGER NOT NULL REFERENCES mediations(id),
            party_pk INTEGER NOT NULL REFERENCES parties(id),
            verdict TEXT NOT NULL,
            text TEXT,
            message_pk INTEGER,
            vetted_at TEXT NOT NULL
        )"""
    )


@migrations()
def m022_events_by_message(db: Database) -> None:
    # What a command mail recorded is read back by its message (the members' folded outcomes,
    # archive/commands/outcome.py): without this index each command mail scanned every event.
    db.execute(
        "CREATE INDEX IF NOT EXISTS events_message ON events(message_pk)"
        " WHERE message_pk IS NOT NULL"
    )
