"""`casebook check-config --connect`: log in to the relay and the IMAP server as configured.

Each check returns one line: what worked, or exactly what failed (host unreachable, TLS
failed, authentication refused), so an operator knows which setting or firewall to look at.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from archive.record.settings import Imap, Relay


@dataclass(frozen=True)
class Outcome:
    ok: bool
    line: str


def _context(ca_file) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _secret(server) -> str:
    try:
        return server.password() or ""
    except OSError as exc:
        raise _Failed(f"cannot read password_file: {exc.strerror}") from None


class _Failed(Exception):
    pass


def check_relay(relay: Relay) -> Outcome:
    """Connect, EHLO, STARTTLS and log in to the outgoing relay, as sending does."""
    where = f"relay {relay.host}:{relay.port}"
    done = []
    try:
        try:
            smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
        except smtplib.SMTPConnectError as exc:
            raise _Failed(
                f"refused the connection: {exc.smtp_code} {_said(exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Failed(f"host unreachable: {_reason(exc)}") from None
        try:
            _smtp_session(smtp, relay, done)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except _Failed as exc:
        return Outcome(False, f"{where}: {exc}")
    return Outcome(True, f"{where}: connected{''.join(done)}")


def _smtp_session(smtp: smtplib.SMTP, relay: Relay, done: list[str]) -> None:
    try:
        smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        raise _Failed(f"no answer to EHLO: {_reason(exc)}") from None
    if relay.starttls:
        if not smtp.has_extn("starttls"):
            raise _Failed("TLS failed: the relay does not offer STARTTLS")
        try:
            smtp.starttls(context=_context(relay.ca_file))
            smtp.ehlo()
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise _Failed(f"TLS failed: {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Failed(f"TLS failed: {_reason(exc)}") from None
        done.append(", STARTTLS verified")
    if relay.username:
        password = _secret(relay)
        try:
            smtp.login(relay.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise _Failed(
                f"authentication refused for {relay.username}: {exc.smtp_code}"
                f" {_said(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise _Failed("authentication refused: the relay offers no AUTH here") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Failed(f"authentication failed: {_reason(exc)}") from None
        done.append(f", logged in as {relay.username}")


def check_imap(imap: Imap) -> Outcome:
    """Connect (TLS as configured), log in and open the polled folder."""
    where = f"IMAP {imap.host}:{imap.port}"
    context = _context(imap.ca_file)
    done = []
    try:
        try:
            client = IMAPClient(
                imap.host, port=imap.port, ssl=imap.ssl, ssl_context=context, timeout=imap.timeout
            )
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise _Failed(f"TLS failed: {_reason(exc)}") from None
        except (OSError, IMAPClientError) as exc:
            raise _Failed(f"host unreachable: {_reason(exc)}") from None
        if imap.ssl:
            done.append(", TLS verified")
        try:
            _imap_session(client, imap, context, done)
        finally:
            with contextlib.suppress(OSError, IMAPClientError):
                client.logout()
    except _Failed as exc:
        return Outcome(False, f"{where}: {exc}")
    return Outcome(True, f"{where}: connected{''.join(done)}")


def _imap_session(client: IMAPClient, imap: Imap, context, done: list[str]) -> None:
    if imap.starttls:
        try:
            client.starttls(context)
        except (ssl.SSLError, ssl.CertificateError, OSError, IMAPClientError) as exc:
            raise _Failed(f"TLS failed: {_reason(exc)}") from None
        done.append(", STARTTLS verified")
    password = _secret(imap)
    try:
        client.login(imap.username, password)
    except LoginError as exc:
        raise _Failed(f"authentication refused for {imap.username}: {_reason(exc)}") from None
    except (OSError, IMAPClientError) as exc:
        raise _Failed(f"authentication failed: {_reason(exc)}") from None
    done.append(f", logged in as {imap.username}")
    try:
        client.select_folder(imap.folder, readonly=True)
    except (OSError, IMAPClientError) as exc:
        raise _Failed(f"folder {imap.folder!r} cannot be opened: {_reason(exc)}") from None
    done.append(f", folder {imap.folder} opened")


def _said(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, IMAPClientError) and exc.args:
        return _said(exc.args[0])
    return str(exc) or type(exc).__name__
