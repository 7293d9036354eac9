"""Exit codes (sysexits.h) and the one error a user can fix: one line on stderr, one code."""

from __future__ import annotations

EX_OK = 0
EX_USAGE = 64  # a bad command line: unknown option, bad --now, bad period, empty query
EX_DATAERR = 65  # input that names nothing or is not what it should be: unknown case, a
# refused export, an empty message on stdin, a file that is not a backup or a maildir
EX_NOINPUT = 66  # a file to read (or the archive a read-only command reads) is missing
EX_UNAVAILABLE = 69  # `check-config --connect`: the relay or the IMAP server cannot be used
EX_SOFTWARE = 70  # a bug in casebook: "internal error"
EX_CANTCREAT = 73  # a file to write cannot be created (exists, no folder, no permission)
EX_IOERR = 74  # reading or writing failed part way
EX_TEMPFAIL = 75  # try again later: the archive busy or locked, a port taken, ingest not stored
EX_NOPERM = 77  # the requester may not have this (an export for someone off the council)
EX_CONFIG = 78  # the configuration is missing or wrong


class UserError(Exception):
    """A problem the user can fix; printed as one line, with its exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code
