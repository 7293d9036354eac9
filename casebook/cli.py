"""The `casebook` command line. Every user error is one line on stderr and a non-zero exit.

This is the entry alone: the global options, the parser built from the command modules
(`casebook/commands/`, one a subcommand, each with its options next to its function), and
the dispatch, where what went wrong becomes one line and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from types import ModuleType

from archive.record.db import ArchiveUnavailable
from casebook.commands.invocation import DEFAULT_CONFIG, QUIET, start_logging
from casebook.config import ConfigError
from casebook.errors import EX_CONFIG, EX_IOERR, EX_SOFTWARE, EX_TEMPFAIL, EX_USAGE, UserError

# Each command's module (casebook/commands/), in the order `casebook --help` lists them. A
# module is imported only when its command runs or the full parser is built: `casebook cases`
# and `show` must answer fast, so they load neither asyncio nor the mailer, the templates nor
# the parser (tests/service/test_readers.py).
COMMANDS = {
    "serve": "serve",
    "ingest": "ingest",
    "import": "import_mail",
    "tick": "tick",
    "cases": "cases",
    "show": "show",
    "stats": "stats",
    "search": "search",
    "export": "export",
    "backup": "backup",
    "restore": "restore",
    "report": "report",
    "bans": "bans",
    "digest": "digest",
    "held": "held",
    "outbox": "outbox",
    "check-config": "check_config",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 64 (EX_USAGE), as sysexits asks.

    For `ingest` it is 75: an MTA bounces the report on any other code, and a typo in its
    pipe command is the operator's to fix while the mail waits in the queue.
    """

    def error(self, message: str):
        code = EX_TEMPFAIL if "ingest" in sys.argv[1:] else EX_USAGE
        self.exit(code, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _NotThisWay(Exception):
    """The quick parse (one command's parser) could not parse it: parse again in full."""


class QuickParser(Parser):
    def error(self, message: str):
        raise _NotThisWay(message)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, parsed with the parser of its command alone when that can be told
    from the leading options: building all twenty (argparse asks gettext for every help
    text) costs 5 to 15 ms of each start. Help, errors and anything unusual take the full
    parser, so what the user sees is the same."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_in(argv)
    if command is not None:
        try:
            return build_parser(only=command).parse_args(argv)
        except _NotThisWay:
            pass
    return build_parser().parse_args(argv)


def _command_in(argv: list[str]) -> str | None:
    """The command word after the usual global options; None when anything else comes first."""
    tokens = iter(argv)
    for token in tokens:
        if token in ("-c", "--config", "--log-format"):
            next(tokens, None)
        elif token.startswith(("--config=", "--log-format=")) or token in ("-v", "--verbose"):
            continue
        elif token.startswith("-"):
            return None
        else:
            return token
    return None


class VersionAction(argparse.Action):
    """`--version`, asking the installed package's metadata only when it is asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from archive.record.schema import migrations

        # The last migration names the archive this casebook reads and writes: a backup made
        # by another version restores only if it has no migration this one lacks.
        print(f"casebook {installed_version()} (archive schema {migrations.names()[-1]})")
        parser.exit()


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("casebook-coc")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the parser of that command alone (see `parse_args`)."""
    parser_class = Parser if only is None else QuickParser
    parser = parser_class(
        prog="casebook",
        description="A Code of Conduct committee's casework over plain email.",
    )
    parser.add_argument("--version", action=VersionAction, help="show the version and exit")
    parser.add_argument(
        "-c",
        "--config",
        help=f"configuration file (default: $CASEBOOK_CONFIG, else {DEFAULT_CONFIG})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or one JSON object per line (journald, log stacks)",
    )
    # prog given: argparse would otherwise format a usage line (importing shutil) to learn it.
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, prog="casebook", parser_class=parser_class
    )
    for name in COMMANDS:
        if only is None or name == only:
            command_module(name).add_parser(commands)
    return parser


def command_module(name: str) -> ModuleType:
    """The module of the command `name` (casebook/commands/), imported when first asked for."""
    return importlib.import_module(f"casebook.commands.{COMMANDS[name]}")


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not as noise at exit
        return code
    except BrokenPipeError:  # `casebook cases | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    # A belt: anything casebook writes is for its own user only, whatever umask it was started
    # with (each archive, spool, backup, export and sink file is also created 0600 itself).
    os.umask(0o077)
    if args.command not in QUIET or args.verbose:
        start_logging(args)
    try:
        return command_module(args.command).run(args)
    except UserError as exc:
        print(f"casebook: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        for line in config_lines(exc.problems, for_a_pipe=args.command == "ingest"):
            print(line, file=sys.stderr)
        # An MTA bounces the report on anything but 75: it must keep it until this is fixed.
        return EX_TEMPFAIL if args.command == "ingest" else EX_CONFIG
    except ArchiveUnavailable as exc:
        print(f"casebook: {exc}", file=sys.stderr)
        busy = args.command == "ingest" or "locked" in str(exc) or "disk full" in str(exc)
        return EX_TEMPFAIL if busy else EX_IOERR
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            print(
                "casebook: archive write failed: disk full; nothing is lost (spooled mail waits"
                " in the spool); try again once there is space",
                file=sys.stderr,
            )
            return EX_TEMPFAIL
        if "locked" not in str(exc) and "busy" not in str(exc):
            return internal_error(args, exc)
        print(f"casebook: the archive is busy ({exc}); try again", file=sys.stderr)
        return EX_TEMPFAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # main's to handle, not an internal error
    except Exception as exc:
        return internal_error(args, exc)


PIPE_PROBLEMS = 3  # an MTA's pipe keeps ~4 KB of a command's output for its log and bounce
PIPE_LINE = 300


def config_lines(problems: list[str], *, for_a_pipe: bool = False) -> list[str]:
    """One line per problem; for `ingest` (Postfix's pipe log) the first few, each short,
    and how many more `check-config` would list."""
    if not for_a_pipe:
        return [f"casebook: config: {problem}" for problem in problems]
    lines = [f"casebook: config: {short(problem)}" for problem in problems[:PIPE_PROBLEMS]]
    if len(problems) > PIPE_PROBLEMS:
        more = len(problems) - PIPE_PROBLEMS
        lines.append(
            f"casebook: config: {more} more problem(s): `casebook check-config` lists them all"
        )
    return lines


def short(text: str, limit: int = PIPE_LINE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def internal_error(args, exc: Exception) -> int:
    """A bug: one line (never a traceback for the user; -v logs the details), exit 70."""
    import logging

    logging.getLogger("casebook").debug("internal error", exc_info=True)
    print(f"casebook: internal error: {type(exc).__name__}: {short(str(exc))}", file=sys.stderr)
    return EX_TEMPFAIL if args.command == "ingest" else EX_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
