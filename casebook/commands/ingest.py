"""`casebook ingest`: one message on stdin, for a Postfix pipe or a .forward
(casebook/ingest.py)."""

from __future__ import annotations

from casebook.commands.invocation import settings_for


def add_parser(commands) -> None:
    ingest = commands.add_parser("ingest", help="read one message on stdin and process it")
    ingest.add_argument(
        "--sender",
        default=None,
        help="envelope sender (default: $SENDER, else the message's Return-Path, else From)",
    )
    ingest.add_argument(
        "--recipient",
        action="extend",
        nargs="+",
        default=None,
        help="envelope recipients: one or more, repeatable, as Postfix's pipe ${recipient}"
        " expands them (default: $RECIPIENT, else the reports address)",
    )


def run(args) -> int:
    from casebook.ingest import ingest_stdin

    return ingest_stdin(settings_for(args), args.sender, args.recipient)
