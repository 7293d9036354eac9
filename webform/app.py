"""The web form: anonymous reports and private follow-up pages, served by aiohttp in intake's
event loop beside the SMTP edge.

Every report and reply goes through the same spool and ingest as mail (transport `form`, which
only this module spools). Nothing here keeps an IP address, a user agent, a cookie or a time
finer than the minute: aiohttp's access log is off, and no handler logs a request; the rate
limits know a client only by a keyed hash whose key lives an hour (`webform/clients.py`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from archive.address_grammar import is_address
from archive.clock import utc_now
from archive.db import open_archive
from archive.formpages import (
    FORM_SENDER,
    FORM_TRANSPORT,
    Page,
    page_for,
    page_mail,
    secret_hash,
    to_the_minute,
)
from archive.settings import Settings, WebForm
from intake.limits import Buckets, Flood
from webform.clients import ONE_CLIENT, ReportLimits
from webform.guards import CsrfTokens
from webform.images import Screenshot, UnreadableImage, redraw
from webform.message import FIELDS, ONGOING, build_message, report_text

if TYPE_CHECKING:
    from multidict import MultiDictProxy

log = logging.getLogger(__name__)
PAGES = Path(str(files("webform.pages")))
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32): 256 random bits
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden); bots fill it in
CASE_WAIT = 15.0  # seconds the receipt waits for the worker to open the case
CASE_POLL = 0.1
DECODING = 2  # screenshots decoded at once (each may take 4 bytes × max_image_pixels twice)
CUT_OFF = (
    "Your form arrived cut off (the connection broke while it was being sent), so nothing was"
    " stored. Please send it again; if it happens again, leave out the screenshots."
)
BUSY_REPLIES = (
    "The form is taking no more messages for now. Nothing was stored."
    " Please try again in an hour, or write to us by email."
)
BUSY_ALL = (
    "The form is taking no more reports for now. Nothing was stored (what you wrote is still"
    " here). Please try again in an hour, or write to us by email."
)
BUSY_CLIENT = (
    "The form has taken several reports from your network in the last hour and takes no more"
    " from it for now. Nothing was stored (what you wrote is still here). Please try again in"
    " an hour, or write to us by email."
)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

Store = Callable[[bytes, str, tuple[str, ...], str, datetime], Awaitable[int]]
RenderMail = Callable[[str, dict], tuple[str, str]]


def page_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PAGES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["honeypot"] = HONEYPOT  # pages/trap.html, included by every form
    return env


class WebFormApp:
    """The handlers; `store` spools bytes (the intake's SpoolWriter.store), `render_mail`
    renders a reporter mail's template as the reporter would read it (subject, text)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        render_mail: RenderMail,
        clock: Callable[[], datetime] = utc_now,
        note_flood: Callable[[Flood], None] | None = None,
    ):
        assert settings.form is not None
        self.settings = settings
        self.form: WebForm = settings.form
        self.store = store
        self.render_mail = render_mail
        self.clock = clock
        self.env = page_environment()
        self.csrf = CsrfTokens()
        # Each client's reports (by a keyed hash that lives an hour), then all reports
        # together (`webform/clients.py`), and each follow-up page's replies.
        quiet = settings.limits.flood_quiet.total_seconds()
        self.limits = ReportLimits(self.form, quiet, note_flood)
        self.replies = Buckets(self.form.replies_per_hour, self.form.replies_per_hour)
        self.db = None
        self.db_lock = asyncio.Lock()
        self.decoding = asyncio.Semaphore(DECODING)

    # -- the application ---------------------------------------------------------------

    def application(self) -> web.Application:
        limit = self.form.max_attachments * self.form.max_attachment_size
        limit += 4 * self.form.max_text_size + 64 * 1024
        app = web.Application(client_max_size=limit, middlewares=[self.guard])
        app.add_routes(
            [
                web.get("/", self.home),
                web.get("/report", self.report_form),
                web.post("/report", self.report_post),
                web.get("/follow/{secret}", self.follow_page),
                web.post("/follow/{secret}", self.follow_post),
                web.get("/form.css", self.stylesheet),
            ]
        )
        app.on_response_prepare.append(self._headers)
        return app

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(HEADERS)
        response.headers.pop("Server", None)  # says nothing about what runs here

    @web.middleware
    async def guard(self, request: web.Request, handler):
        """Every answer a page: too big, unknown, or a failure of ours, never a traceback."""
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return self.page(
                "notice.html",
                413,
                title="Too large",
                text="What you sent is larger than the form takes. Please leave out"
                " a screenshot or make it smaller, and send the form again.",
            )
        except web.HTTPNotFound:
            return self.not_found()
        except web.HTTPException:
            raise
        except (ConnectionError, asyncio.CancelledError):
            raise  # the browser went away (an upload abandoned): nothing to answer or log
        except Exception:
            log.exception("the web form could not answer a request")  # no request details
            return self.page(
                "notice.html",
                503,
                title="Please try again",
                text="Your report could not be stored just now. Nothing was kept."
                " Please try again in a few minutes, or send it by email.",
            )

    def page(self, name: str, status: int = 200, **context) -> web.Response:
        context.setdefault("committee_name", self.settings.committee_name)
        context.setdefault("reports_address", self.settings.reports)
        html = self.env.get_template(name).render(**context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def not_found(self) -> web.Response:
        return self.page(
            "notice.html", 404, title="Not found", text="There is no page at this address."
        )

    async def archive(self, call, *args):
        """A read of the archive, in a thread, one at a time (the connection is shared)."""
        async with self.db_lock:
            if self.db is None:
                self.db = await asyncio.to_thread(open_archive, self.settings.database)
            return await asyncio.to_thread(call, self.db, *args)

    # -- pages -----------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/report")

    async def stylesheet(self, request: web.Request) -> web.Response:
        css = (PAGES / "form.css").read_text()
        return web.Response(
            text=css,
            content_type="text/css",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    def report_page(
        self, status: int = 200, values: dict | None = None, errors: dict | None = None
    ) -> web.Response:
        return self.page(
            "form.html",
            status,
            csrf_token=self.csrf.issue("report"),
            values=values or {},
            errors=errors or {},
            ongoing_choices=ONGOING,
            max_attachments=self.form.max_attachments,
            max_attachment_mb=_megabytes(self.form.max_attachment_size),
        )

    async def report_form(self, request: web.Request) -> web.Response:
        return self.report_page()

    async def report_post(self, request: web.Request) -> web.Response:
        data = await self.read_post(request)
        if data is None:
            return self.report_page(400, errors={"account": CUT_OFF})
        if not self.csrf.valid("report", str(data.get("csrf_token", ""))):
            return self.forbidden()
        if data.get(HONEYPOT):
            return self.refused()
        values = {name: str(data.get(name, "")) for name, _ in FIELDS}
        values["ongoing"] = values["ongoing"] if values["ongoing"] in ONGOING else ""
        busy = self.admit_report(request, take=False)  # before any work on the upload
        if busy is not None:
            return self.report_page(429, values, {"account": busy})
        errors = self.text_errors(values)
        contact = " ".join(values["contact"].split())
        shots, problem = await self.screenshots(data)
        if problem:
            errors["screenshots"] = problem
        if errors:
            return self.report_page(400, values, errors)
        if not self.csrf.redeem("report", str(data.get("csrf_token", ""))):
            return self.forbidden()
        busy = self.admit_report(request, take=True)
        if busy is not None:
            return self.report_page(429, values, {"account": busy})
        secret = secrets.token_urlsafe(32)
        page_hash = secret_hash(secret)
        now = to_the_minute(self.clock())
        raw = build_message(
            kind="report",
            text=report_text(values),
            page_hash=page_hash,
            reports=self.settings.reports,
            now=now,
            screenshots=shots,
        )
        await self.store(raw, FORM_SENDER, (self.settings.reports,), FORM_TRANSPORT, now)
        page = await self.wait_for_case(page_hash)
        return self.page(
            "receipt.html",
            case_ref=page.case.ref if page else None,
            follow_path=f"/follow/{secret}",
            follow_url=_origin(request) + f"/follow/{secret}",
            contact=bool(contact),
        )

    def text_errors(self, values: dict[str, str]) -> dict[str, str]:
        """What is wrong with the report's text fields, by field."""
        errors = {}
        if not values["account"].strip():
            errors["account"] = "Please tell us what happened: this is the one field we need."
        if sum(len(v) for v in values.values()) > self.form.max_text_size:
            errors["account"] = (
                f"Please keep the report under {self.form.max_text_size:,}"
                " characters (or send the rest as a reply later)."
            )
        contact = " ".join(values["contact"].split())
        if contact and not _plain_address(contact):
            errors["contact"] = "This does not look like an email address (or leave it empty)."
        return errors

    async def read_post(self, request: web.Request) -> MultiDictProxy | None:
        """The form's fields, or None when the upload was cut off before its end (a connection
        lost half-way, a proxy's cut): one INFO line, no traceback, the form again."""
        try:
            return await request.post()
        except (ValueError, LookupError) as exc:  # "Reading after EOF", an unknown charset…
            where = request.path.split("/")[1]  # "report" or "follow", never a page's secret
            log.info("the web form got a cut-off or malformed upload at /%s (%s): answered"
                     " 400 with the form, nothing stored", where, type(exc).__name__)  # fmt: skip
            return None

    def admit_report(self, request: web.Request, *, take: bool) -> str | None:
        """Why the form takes no report now (this client's bucket, or everyone's, is empty);
        with `take`, the report is counted."""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        refusal = self.limits.admit(
            peer[0] if peer else None,
            request.headers.get("X-Forwarded-For"),
            time.monotonic(),
            to_the_minute(self.clock()),
            take=take,
        )
        if refusal is None:
            return None
        return BUSY_CLIENT if refusal == ONE_CLIENT else BUSY_ALL

    async def wait_for_case(self, page_hash: str) -> Page | None:
        """The case the worker opened for this report (it is woken at the spool commit)."""
        deadline = time.monotonic() + CASE_WAIT
        while time.monotonic() < deadline:
            page = await self.archive(page_for, page_hash)
            if page is not None:
                return page
            await asyncio.sleep(CASE_POLL)
        return None

    async def screenshots(self, data) -> tuple[tuple[Screenshot, ...], str | None]:
        uploads = [f for f in data.getall("screenshots", []) if isinstance(f, web.FileField)]
        uploads = [f for f in uploads if f.filename]  # an empty file input sends a nameless part
        if len(uploads) > self.form.max_attachments:
            return (), f"Please attach at most {self.form.max_attachments} screenshots."
        shots = []
        for upload in uploads:
            content = upload.file.read(self.form.max_attachment_size + 1)
            if len(content) > self.form.max_attachment_size:
                size = _megabytes(self.form.max_attachment_size)
                return (), f"Each screenshot may be at most {size} MB; one is larger."
            try:  # decoding takes a while: in a thread, so that SMTP is answered meanwhile
                async with self.decoding:
                    pixels = self.form.max_image_pixels
                    shots.append(await asyncio.to_thread(redraw, content, pixels))
            except UnreadableImage:
                return (), (
                    "Screenshots must be PNG, JPEG, GIF or WebP images that open, of at most"
                    f" {self.form.max_image_pixels / 1e6:g} million pixels; one is not."
                )
        return tuple(shots), None

    async def page_of(self, request: web.Request) -> tuple[str, Page] | None:
        secret = request.match_info["secret"]
        if not SECRET_RE.fullmatch(secret):
            return None
        page_hash = secret_hash(secret)
        page = await self.archive(page_for, page_hash)
        return (page_hash, page) if page else None

    async def follow_page(
        self, request: web.Request, *, status: int = 200, error: str | None = None, text: str = ""
    ) -> web.Response:
        found = await self.page_of(request)
        if found is None:
            return self.not_found()
        page_hash, page = found
        mails = await self.archive(page_mail, page.party)
        shown = []
        for mail in mails:
            subject, body = self.render_mail(mail.template, mail.context)
            shown.append({"subject": subject, "text": body, "at": mail.at})
        return self.page(
            "follow.html",
            status,
            case_ref=page.case.ref,
            mails=shown,
            csrf_token=self.csrf.issue(f"follow:{page_hash}"),
            sent=request.query.get("sent") == "1",
            error=error,
            text=text,
            contact=bool(page.party.email),
            max_attachments=self.form.max_attachments,
            max_attachment_mb=_megabytes(self.form.max_attachment_size),
        )

    async def follow_post(self, request: web.Request) -> web.Response:
        found = await self.page_of(request)
        if found is None:
            return self.not_found()
        page_hash, page = found
        data = await self.read_post(request)
        if data is None:
            return await self.follow_page(request, status=400, error=CUT_OFF)
        purpose = f"follow:{page_hash}"
        if not self.csrf.valid(purpose, str(data.get("csrf_token", ""))):
            return self.forbidden()
        if data.get(HONEYPOT):
            return self.refused()
        text = str(data.get("text", ""))
        shots, problem = await self.screenshots(data)
        if not text.strip():
            problem = "Please write your reply before sending it."
        elif len(text) > self.form.max_text_size:
            problem = f"Please keep a reply under {self.form.max_text_size:,} characters."
        if problem:
            return await self.follow_page(request, status=400, error=problem, text=text)
        if not self.csrf.redeem(purpose, str(data.get("csrf_token", ""))):
            return self.forbidden()
        if not self.replies.take_if_any(page_hash, time.monotonic()):
            return self.busy(BUSY_REPLIES)
        now = to_the_minute(self.clock())
        raw = build_message(
            kind="follow-up",
            text=text.replace("\r\n", "\n").strip() + "\n",
            page_hash=page_hash,
            reports=self.settings.reports,
            now=now,
            screenshots=shots,
        )
        await self.store(raw, FORM_SENDER, (self.settings.reports,), FORM_TRANSPORT, now)
        raise web.HTTPSeeOther(f"/follow/{request.match_info['secret']}?sent=1#sent")

    # -- refusals ------------------------------------------------------------------------

    def forbidden(self) -> web.Response:
        return self.page(
            "notice.html",
            403,
            title="Please send the form again",
            text="This form has expired or was already sent. Nothing was stored."
            " Please go back, reload the page and send it again.",
        )

    def refused(self) -> web.Response:
        return self.page(
            "notice.html",
            400,
            title="Not accepted",
            text="The form could not be accepted. If you are a person, please"
            " send your report by email instead.",
        )

    def busy(self, text: str) -> web.Response:
        return self.page("notice.html", 429, title="Please try again later", text=text)


def _megabytes(size: int) -> str:
    """A size as people read it: "5 MB", "0.5 MB"."""
    return f"{round(size / (1024 * 1024), 2):g}"


def _plain_address(text: str) -> bool:
    return is_address(text, dotted=True) and len(text) <= 254


def _origin(request: web.Request) -> str:
    """The site's address as the browser used it (behind a proxy: its Host, and https when
    the proxy says so), for the follow-up link shown on the receipt."""
    scheme = "https" if request.headers.get("X-Forwarded-Proto") == "https" else request.scheme
    host = request.headers.get("Host", "")
    if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]{1,255}", host):
        return ""
    return f"{scheme}://{host}"
