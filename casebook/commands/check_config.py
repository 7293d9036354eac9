"""`casebook check-config`: every problem of the configuration and the templates at once
(casebook/checks.py); with `--connect`, a login to the relay and the IMAP server
(casebook/connect.py)."""

from __future__ import annotations

import sys

from casebook.commands.invocation import config_path, settings_for
from casebook.errors import EX_CONFIG, EX_UNAVAILABLE


def add_parser(commands) -> None:
    check = commands.add_parser("check-config", help="validate the configuration and templates")
    check.add_argument(
        "--connect",
        action="store_true",
        help="also log in to the relay and the IMAP server (exit 69 if one fails)",
    )


def run(args) -> int:
    from casebook.checks import check_everything

    path = config_path(args)
    problems = check_everything(path)
    if problems:
        for problem in problems:
            print(f"casebook: config: {problem}", file=sys.stderr)
        return EX_CONFIG
    print(f"{path}: configuration and templates are valid")
    return check_connections(args) if args.connect else 0


def check_connections(args) -> int:
    """Log in to the relay and, when configured, the IMAP server: one line each."""
    from casebook.connect import check_imap, check_relay

    settings = settings_for(args)
    outcomes = [check_relay(settings.relay)]
    if settings.imap is not None:
        outcomes.append(check_imap(settings.imap))
    for outcome in outcomes:
        if outcome.ok:
            print(outcome.line)
        else:
            print(f"casebook: connect: {outcome.line}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else EX_UNAVAILABLE
