"""`casebook tick`: one sweep of everything due, for cron and tests (casebook/tick.py)."""

from __future__ import annotations

from casebook.commands.invocation import now_from, settings_for


def add_parser(commands) -> None:
    tick = commands.add_parser("tick", help="process everything due now, then exit")
    tick.add_argument("--now", help="ISO 8601 time to act at (default: the real clock)")


def run(args) -> int:
    from casebook.tick import run_tick

    settings = settings_for(args)
    summary, noteworthy = run_tick(settings, now_from(args.now, settings))
    if noteworthy or args.verbose:  # cron mails whatever is printed: nothing when all is well
        print(summary)
    return 0
