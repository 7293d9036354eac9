"""Private files: everything casebook writes holds the committee's most sensitive mail, so each
file is 0600 and each folder casebook creates is 0700, whatever the umask of whoever runs it.

Modes are set explicitly (not left to the umask, which can only take bits away and may be 000),
and files an older casebook left readable by others are tightened when casebook opens them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
OTHERS = 0o077  # the group and world bits a private file must not have
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private_folders(folder: Path) -> None:
    """Create `folder` and any missing parents, each 0700; folders that exist are left alone."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it first; it is theirs to set
        os.chmod(path, FOLDER_MODE)


def create_private_file(path: Path) -> int:
    """Create a new file (never an existing one) 0600 and return its descriptor, open for writing.

    Raises FileExistsError if `path` exists.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to a new 0600 file; raises FileExistsError if `path` exists."""
    with open(create_private_file(path), "wb") as handle:
        handle.write(data)


def prepare_private_database(path: Path) -> None:
    """Make sure the SQLite file at `path` is private before SQLite opens it.

    A new file is created 0600 in 0700 folders (SQLite then gives its -wal and -shm the same
    mode); an existing one, and its side files, lose any group or world bits.
    """
    path = Path(path)
    make_private_folders(path.parent)
    try:
        os.close(create_private_file(path))
    except FileExistsError:
        tighten(path)
    for side in side_files(path):
        tighten(side)


def side_files(path: Path) -> list[Path]:
    """SQLite's side files of the database at `path` that exist now."""
    sides = [path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES]
    return [side for side in sides if side.exists()]


def open_to_others(path: Path) -> bool:
    """Whether the database at `path` or a side file of it has group or world bits."""
    for each in (path, *side_files(path)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(os.stat(each).st_mode) & OTHERS:
                return True
    return False


def tighten(path: Path) -> None:
    """Take the group and world bits off an existing file, saying so in one log line."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return  # a side file SQLite removed meanwhile
    if current & OTHERS == 0:
        return
    try:
        os.chmod(path, current & ~OTHERS)
    except FileNotFoundError:
        return
    except PermissionError:
        _log().warning("%s is open to others (mode %o) and not ours to make private", path, current)
        return
    _log().warning("%s was open to others (mode %o); made private", path, current)


def _log():
    import logging  # only when there is something to say: the read-only commands start without it

    return logging.getLogger(__name__)
