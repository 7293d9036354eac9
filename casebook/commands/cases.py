"""`casebook cases`: the case list, one line a case, urgent ones in red on a terminal."""

from __future__ import annotations

import sys

from casebook.commands.invocation import open_existing_archive, print_json
from casebook.errors import EX_USAGE, UserError


def add_parser(commands) -> None:
    cases = commands.add_parser("cases", help="list cases")
    cases.add_argument("--state", help="only cases in this state")
    cases.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    if args.state:
        check_state(args.state)
    from archive.queries import case_rows, case_summaries

    db = open_existing_archive(args, read_only=True)
    if args.json:
        return print_json(case_summaries(db, args.state))
    red = ("\033[31m", "\033[0m") if sys.stdout.isatty() else ("", "")
    lines = []  # from the rows as they come, and one write: 10k cases are 10k lines
    for ref, state, urgent, opened_at, _, reporter in case_rows(db, args.state):
        flag, mark = ("URGENT ", red) if urgent else ("", ("", ""))
        lines.append(
            f"{mark[0]}{ref:<16} {flag}{state:<20} opened {opened_at[:16]}"
            f"  reporter {reporter or 'anonymous'}{mark[1]}\n"
        )
    sys.stdout.write("".join(lines) or "no cases\n")
    return 0


def check_state(state: str) -> None:
    from archive.models import CaseState

    if state not in {s.value for s in CaseState}:
        states = ", ".join(s.value for s in CaseState)
        raise UserError(f"unknown state {state!r}; states are: {states}", EX_USAGE)
