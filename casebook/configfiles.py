"""The files and folders a configuration names: readable, writable, the right kind of thing.

Checked by `check-config` and `serve` (where systemd credentials exist), not by every command:
an operator's `casebook cases` need not read the relay password.
"""

from __future__ import annotations

import os
from pathlib import Path


def check_paths(paths: list[tuple[str, str, Path]]) -> list[str]:
    """One line per problem with the (where, kind, path) triples the reader collected."""
    problems = []
    readable: dict[str, Path] = {}
    for where, kind, path in paths:
        problem = CHECKS[kind](path)
        if problem is None and where == "[mailer.dkim] private_key_file":
            problem = _private(path)
        if problem:
            problems.append(f"{where} {path}: {problem}")
        elif kind in ("cert", "key"):
            readable[where] = path
    cert, key = readable.get("[intake.smtp] tls_cert"), readable.get("[intake.smtp] tls_key")
    if cert and key:
        import ssl  # only when both are configured: ssl costs ~8 ms of every start

        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            problems.append(f"[intake.smtp] tls_cert and tls_key do not load together: {exc}")
    return problems


def _read_start(path: Path) -> tuple[bytes, str | None]:
    if path.is_dir():
        return b"", "is a folder, not a file"
    try:
        with open(path, "rb") as handle:
            return handle.read(65536), None
    except FileNotFoundError:
        return b"", "no such file"
    except OSError as exc:
        return b"", f"cannot be read ({exc.strerror})"


def _private(path: Path) -> str | None:
    """A signing key every local user can read signs mail in the committee's name for them."""
    if path.stat().st_mode & 0o004:
        return "is readable by every user (chmod 0600, owned by the user casebook runs as)"
    return None


def _file(path: Path) -> str | None:
    return _read_start(path)[1]


def _pem(marker: bytes, what: str):
    def check(path: Path) -> str | None:
        start, problem = _read_start(path)
        if problem is None and marker not in start:
            problem = f"is not {what}"
        return problem

    return check


def _ca(path: Path) -> str | None:
    problem = _file(path)
    if problem is None:
        import ssl

        try:
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, ValueError):
            problem = "holds no PEM CA certificate"
    return problem


def _creatable(folder: Path) -> str | None:
    """None if `folder` exists and is writable, or could be created."""
    if folder.is_dir():
        return None if os.access(folder, os.W_OK | os.X_OK) else f"folder {folder} is not writable"
    ancestor = folder
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"folder {folder} cannot be created: {ancestor} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"folder {folder} cannot be created: {ancestor} is not writable"
    return None


def _database(path: Path) -> str | None:
    if path.is_dir():
        return "is a folder, not a database file"
    if path.exists():
        if not path.is_file():
            return "is not a file"
        if not os.access(path, os.R_OK | os.W_OK):
            return "cannot be written"
    return _creatable(path.parent)


def _folder(path: Path) -> str | None:
    if path.exists() and not path.is_dir():
        return "is not a folder"
    return _creatable(path)


def _templates(path: Path) -> str | None:
    if not path.is_dir():
        return "is not a folder" if path.exists() else "no such folder"
    if not os.access(path, os.R_OK | os.X_OK):
        return "cannot be read"
    return None


CHECKS = {
    "database": _database,
    "folder": _folder,
    "templates": _templates,
    "file": _file,
    "key": _pem(b"PRIVATE KEY-----", "a PEM private key"),
    "cert": _pem(b"-----BEGIN CERTIFICATE-----", "a PEM certificate"),
    "ca": _ca,
}
