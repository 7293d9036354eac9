"""What every subcommand reads of its command line: the configuration file, the settings,
the archive (refused, never created, when missing), `--now`, a case by its reference, and
logging started as the command asks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from archive.cases import UnknownCaseError, find_case
from archive.clock import parse_now, utc_now
from archive.db import ArchiveOutdated, open_archive, open_reader
from archive.private_files import open_to_others
from archive.settings import Settings
from casebook.config import load_settings
from casebook.errors import EX_DATAERR, EX_NOINPUT, EX_TEMPFAIL, EX_USAGE, UserError

DEFAULT_CONFIG = "config/casebook.toml"
# `cases`, `show`, `search` and `stats` open the archive read-only with plain sqlite3; the first
# three log nothing unless they find the archive open to others (see `open_existing_archive`),
# so they load `logging` only then or with -v: ~6 ms of each start (docs/developers/testing.md).
QUIET = frozenset({"cases", "show", "search"})


def config_path(args) -> Path:
    return Path(args.config or os.environ.get("CASEBOOK_CONFIG") or DEFAULT_CONFIG)


def settings_for(args, *, check_files: bool = False) -> Settings:
    return load_settings(config_path(args), check_files=check_files)


def open_existing_archive(args, settings: Settings | None = None, *, read_only: bool = False):
    """The archive for a command that only reads it: refused, never created, when missing.

    `read_only`: opened with plain sqlite3 (`open_reader`: no migrations, no sqlite-utils,
    which alone costs ~65 ms of start-up) for the commands that never write (`cases`, `show`,
    `search`, `stats`)."""
    settings = settings or settings_for(args)
    database = Path(settings.database)
    if not database.exists():  # a folder there is an archive that cannot be opened (74)
        raise UserError(
            f"no archive at {database} (run `casebook serve` or `casebook ingest` first,"
            f" or check `database` in {config_path(args)})",
            EX_NOINPUT,
        )
    if read_only:
        if args.command in QUIET and not args.verbose and open_to_others(database):
            start_logging(args)  # opening it makes it private, and says so
        try:
            return open_reader(database)
        except ArchiveOutdated as exc:
            raise UserError(str(exc), EX_TEMPFAIL) from None
    return open_archive(database)


def case_named(db, reference: str):
    """The case a command line names; an unknown reference is the user's to fix (65)."""
    try:
        return find_case(db, reference)
    except UnknownCaseError as exc:
        raise UserError(str(exc), EX_DATAERR) from None


def now_from(text: str | None, settings: Settings) -> datetime:
    """`--now` read in the committee's time zone; the real clock when it is not given."""
    if text is None:
        return utc_now()
    try:
        return parse_now(text, settings.zone)
    except ValueError as exc:
        raise UserError(f"--now: {exc}", EX_USAGE) from None


def print_json(value: object) -> int:
    """`--json`: the value, indented, and a clean exit."""
    print(json.dumps(value, indent=2))
    return 0


def print_rows(rows: list[dict], line: Callable[[dict], str], *, empty: str) -> int:
    """A listing: each row as `line` writes it, or `empty` when there is none."""
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return 0


def start_logging(args) -> None:
    from casebook.logs import configure_logging

    configure_logging(
        json_lines=args.log_format == "json", level=log_level(args), verbose=args.verbose
    )


def log_level(args) -> int:
    """serve logs a line per message and per mail; the one-shot commands only what needs an
    operator (cron mails whatever they print), unless -v."""
    import logging

    if args.verbose:
        return logging.DEBUG
    return logging.INFO if args.command == "serve" else logging.WARNING
