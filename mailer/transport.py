"""SMTP delivery to the configured relay, with errors sorted into temporary and permanent."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from archive.record.settings import Relay


class TemporaryFailure(Exception):
    """Try again later (4xx, connection trouble)."""


class RelayUnreachable(TemporaryFailure):
    """No connection to the relay at all: no point trying the next message now."""


class PermanentFailure(Exception):
    """The relay refused for good (5xx)."""


class RelaySession:
    """One SMTP connection reused for a batch; reconnects after an error."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> RelaySession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def abort(self) -> None:
        """Drop the connection without a word: after an unexpected error its state is unknown."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        relay = self.relay
        smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
        smtp.ehlo()
        if relay.starttls:
            cafile = str(relay.ca_file) if relay.ca_file else None
            smtp.starttls(context=ssl.create_default_context(cafile=cafile))
            smtp.ehlo()
        if relay.username:
            smtp.login(relay.username, relay.password() or "")
        return smtp

    def offers_smtputf8(self) -> bool:
        """Whether the relay announced SMTPUTF8 in its EHLO (connecting if need be)."""
        with self._errors_sorted():
            return self._connection().has_extn("smtputf8")

    def send(
        self,
        envelope_from: str,
        recipients: tuple[str, ...],
        raw: bytes,
        *,
        smtputf8: bool = False,
    ) -> None:
        options = ["SMTPUTF8"] if smtputf8 else []
        with self._errors_sorted():
            refused = self._connection().sendmail(
                envelope_from, list(recipients), raw, mail_options=options
            )
        if refused:
            _raise_for(min(code for code, _ in refused.values()), _describe(refused))

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    @contextmanager
    def _errors_sorted(self) -> Iterator[None]:
        """SMTP errors as temporary or permanent; after any error the connection is dropped,
        since a transaction left open (MAIL accepted, RCPT never written) would make the next
        item's MAIL fail with 503."""
        try:
            yield
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            _raise_for(min(codes), _describe(exc.recipients))
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise TemporaryFailure(f"relay authentication failed ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            _raise_for(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            raise PermanentFailure(f"the relay cannot take this message: {exc}") from None
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self.close()
            raise RelayUnreachable(f"relay unreachable: {exc}") from None
        except BaseException:
            self.abort()
            raise


def _describe(refused: dict) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refused.items())


def _text(reply: bytes | str) -> str:
    """The relay's reply as text for the outbox's last error (and a log line)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _raise_for(code: int, text: str) -> None:
    if 500 <= code < 600:
        raise PermanentFailure(text)
    raise TemporaryFailure(text)
