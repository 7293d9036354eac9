"""`casebook backup PATH`: an online, consistent copy of the live archive to a new file."""

from __future__ import annotations

from pathlib import Path

from casebook.commands.invocation import open_existing_archive
from casebook.errors import EX_CANTCREAT, UserError


def add_parser(commands) -> None:
    backup = commands.add_parser("backup", help="an online, consistent copy of the archive")
    backup.add_argument("path", help="a new file to write")


def run(args) -> int:
    from archive.search import backup_archive

    db = open_existing_archive(args)
    try:
        size = backup_archive(db, Path(args.path))
    except FileExistsError as exc:
        raise UserError(str(exc), EX_CANTCREAT) from None
    except OSError as exc:
        raise UserError(f"cannot write {args.path}: {exc.strerror or exc}", EX_CANTCREAT) from None
    print(f"archive copied to {args.path} ({size} bytes)")
    return 0
