"""The web form's HTTP server: aiohttp's runner in intake's event loop, and its own log kept
free of anything about the client."""

from __future__ import annotations

import logging
import ssl

from aiohttp import web

from webform.app import WebFormApp


class _NoRequestDetails(logging.Filter):
    """aiohttp logs a malformed request with the client's address, a traceback quoting the
    request and the millisecond: casebook keeps one line that says only what happened."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = "the web form refused a malformed request", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)  # casebook -v shows it


def _quiet_http_log() -> logging.Logger:
    http_log = logging.getLogger("webform.http")
    if not any(isinstance(f, _NoRequestDetails) for f in http_log.filters):
        http_log.addFilter(_NoRequestDetails())
    return http_log


async def start_web_form(app: WebFormApp):
    """Listen on [intake.form]; the runner, to clean up. Raises OSError if the port is taken."""
    form = app.form
    tls = None
    if form.tls_cert and form.tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(str(form.tls_cert), str(form.tls_key))
    runner = web.AppRunner(
        app.application(), access_log=None, handle_signals=False, logger=_quiet_http_log()
    )
    await runner.setup()
    site = web.TCPSite(runner, form.host, form.port, ssl_context=tls)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
