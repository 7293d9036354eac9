"""`casebook import`: mbox files and maildirs of the list's past mail, through the same
ingest, with a progress bar; anything that is not mail is refused before a byte is read."""

from __future__ import annotations

import os
from pathlib import Path

from casebook.commands.invocation import settings_for
from casebook.errors import EX_DATAERR, EX_IOERR, EX_NOINPUT, UserError


def add_parser(commands) -> None:
    importer = commands.add_parser("import", help="import an mbox or maildir of past list mail")
    importer.add_argument("paths", nargs="+", help="mbox files or maildir folders")


def run(args) -> int:
    from tqdm import tqdm

    from archive.clock import utc_now
    from archive.db import open_archive
    from intake.importer import import_paths

    settings = settings_for(args)
    paths = [Path(p) for p in args.paths]
    for path in paths:
        check_mail_path(path)
    db = open_archive(settings.database)
    with tqdm(unit="B", unit_scale=True, disable=None, desc="importing") as progress:
        try:
            report = import_paths(db, settings, paths, utc_now(), progress)
        except OSError as exc:
            raise UserError(f"cannot read: {exc}", EX_IOERR) from None
    resumed = f" (resumed after {report.skipped_bytes} bytes)" if report.skipped_bytes else ""
    quarantined = f", {report.quarantined} quarantined" if report.quarantined else ""
    print(
        f"{report.read} messages read: {report.new} new,"
        f" {report.duplicates} already archived{quarantined}{resumed}"
    )
    return 0


def check_mail_path(path: Path) -> None:
    """Refuse a path that is missing, unreadable, or neither a maildir nor a mail file."""
    from intake.importer import mail_file_problem

    if not path.exists():
        raise UserError(f"{path}: no such file or folder", EX_NOINPUT)
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: not readable", EX_NOINPUT)
    if path.is_dir() and not (path / "cur").is_dir():
        raise UserError(f"{path}: a folder, but not a maildir (no cur/)", EX_DATAERR)
    if path.is_file() and (problem := mail_file_problem(path)):
        raise UserError(f"{path}: {problem}; nothing imported", EX_DATAERR)
