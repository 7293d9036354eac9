"""`casebook restore PATH`: a backup back in place of the archive (casebook/restore.py)."""

from __future__ import annotations

from pathlib import Path

from casebook.commands.invocation import settings_for
from casebook.errors import EX_DATAERR, EX_IOERR, EX_NOINPUT, EX_TEMPFAIL, UserError


def add_parser(commands) -> None:
    restore = commands.add_parser("restore", help="put a backup back in place of the archive")
    restore.add_argument("path", help="a file written by casebook backup")


def run(args) -> int:
    from archive.clock import utc_now
    from casebook.restore import ArchiveInUse, NotABackup, restore_archive
    from intake.spool import count_spooled, open_spool, spool_path

    settings = settings_for(args)
    backup = Path(args.path)
    if not backup.is_file():
        raise UserError(f"restore: {args.path}: no such file", EX_NOINPUT)
    try:
        aside = restore_archive(Path(settings.database), backup, utc_now())
    except ArchiveInUse as exc:
        raise UserError(f"restore: {exc}", EX_TEMPFAIL) from None
    except NotABackup as exc:
        raise UserError(f"restore: {exc}", EX_DATAERR) from None
    except OSError as exc:
        missing = exc.filename is not None and Path(exc.filename) == backup
        code = EX_NOINPUT if missing else EX_IOERR
        raise UserError(f"restore: {exc.strerror or exc}: {exc.filename or ''}", code) from None
    kept = f"; the previous archive is kept as {aside}" if aside else ""
    waiting = count_spooled(open_spool(spool_path(settings)))
    print(
        f"archive restored from {args.path}{kept}; {waiting} spooled message(s) are"
        " checked against it at the next tick or serve"
    )
    return 0
