"""`casebook export CASE`: a case thread as mbox for a justified Executive Council request,
logged in the case either way."""

from __future__ import annotations

from pathlib import Path

from casebook.commands.invocation import case_named, open_existing_archive, settings_for
from casebook.errors import EX_CANTCREAT, EX_NOPERM, UserError


def add_parser(commands) -> None:
    export = commands.add_parser("export", help="a case thread as mbox for the council")
    export.add_argument("case", help="case reference")
    export.add_argument("--for", dest="requester", required=True, help="the EC member asking")
    export.add_argument("--reason", required=True, help="why (written to the audit log)")
    export.add_argument("--out", help="mbox file to write (default: CASE.mbox)")


def run(args) -> int:
    from archive.clock import utc_now
    from archive.export import ExportRefused, export_case

    db = open_existing_archive(args)
    case = case_named(db, args.case)
    target = Path(args.out or f"{case.ref}.mbox")
    if target.exists():
        raise UserError(f"cannot write {target}: it exists; choose a new file", EX_CANTCREAT)
    try:
        count = export_case(
            db,
            case,
            settings_for(args),
            requester=args.requester,
            reason=args.reason,
            target=target,
            now=utc_now(),
        )
    except ExportRefused as exc:
        raise UserError(f"export refused: {exc}", EX_NOPERM) from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}", EX_CANTCREAT) from None
    print(f"{count} messages of {case.ref} written to {target} (logged in the case)")
    return 0
