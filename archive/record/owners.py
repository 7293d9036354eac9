"""Who writes each table: one owner per table, held by tests/unit/test_table_owners.py.

The shared tables belong to the record (`archive/record/`): every other module writes them by
calling a record function (`record_event`, `set_case_fields`, `cancel_deadlines`…), never by
SQL of its own. A feature's own tables belong to that feature's module alone. Reads are free.
The migrations (`archive/record/schema.py`) change every table and are nobody's exception to
worry about: they run before anything else opens the archive.
"""

from __future__ import annotations

RECORD = "archive/record/"

# The archive's tables: table -> the package (ending in "/") or module that alone writes it.
OWNERS: dict[str, str] = {
    # shared: the record alone
    "messages": RECORD,
    "deliveries": RECORD,
    "attachments": RECORD,
    "cases": RECORD,
    "parties": RECORD,
    "events": RECORD,
    "outbox": RECORD,
    "outbox_sends": RECORD,
    "deadlines": RECORD,
    "follow_up_pages": RECORD,
    "meta": RECORD,
    "leases": RECORD,
    "messages_fts": RECORD,
    # each feature's own
    "proposals": "archive/workflow/resolutions.py",
    "votes": "archive/workflow/resolutions.py",
    "appeals": "archive/workflow/appeals.py",
    "appeal_votes": "archive/workflow/appeals.py",
    "mediations": "archive/workflow/mediation.py",
    "mediation_vettings": "archive/workflow/mediation.py",
    "bans": "archive/workflow/bans.py",
    "digests": "archive/summaries/digest.py",
    "floods": "archive/arrivals/floods.py",
    "command_runs": "archive/commands/execute.py",
}

# spool.db is intake's own file, apart from the archive: its tables belong to intake.
SPOOL_OWNERS: dict[str, str] = {
    "spooled": "intake/spool.py",
    "floods": "intake/spool.py",
    "imap_state": "intake/imap.py",
}
SPOOL_WRITERS = frozenset(SPOOL_OWNERS.values())
