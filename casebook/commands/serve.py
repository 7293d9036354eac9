"""`casebook serve`: intake, the worker and the scheduler, until stopped (casebook/serve.py)."""

from __future__ import annotations

from casebook.commands.invocation import settings_for
from casebook.errors import EX_TEMPFAIL, UserError


def add_parser(commands) -> None:
    serve = commands.add_parser("serve", help="run intake, the mailer and the scheduler")
    serve.add_argument(
        "--with-sink",
        action="store_true",
        help="also run a local relay that keeps outgoing mail in var/sink (for trying it out)",
    )


def run(args) -> int:
    from casebook.restore import ArchiveInUse
    from casebook.serve import CannotListen, run_service

    try:
        return run_service(
            settings_for(args, check_files=True),
            with_sink=args.with_sink,
            reload=lambda: settings_for(args, check_files=True),
        )
    except (CannotListen, ArchiveInUse) as exc:
        raise UserError(str(exc), EX_TEMPFAIL) from None
