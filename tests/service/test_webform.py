"""The web form over real HTTP: `casebook serve` with [intake.form], a real relay, real files.

Each rule of issue 12 is asked of the running service as a browser (or an attacker) would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import re
import smtplib
import sqlite3
import struct
import zlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from tests.support.base import RelaySink, ServeProcess, free_port, write_config
from tests.support.exchange import idle
from tests.support.helpers import run_casebook
from tests.support.waiting import wait_until


def png(*extra_chunks: tuple[bytes, bytes]) -> bytes:
    """A real 1×1 PNG, with any further chunks (a tEXt, an eXIf) before its image data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = b"".join(chunk(k, d) for k, d in extra_chunks)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + body
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))  # fmt: skip


PNG = png()


def same_pixels(one: bytes, other: bytes) -> bool:
    with Image.open(io.BytesIO(one)) as a, Image.open(io.BytesIO(other)) as b:
        return a.size == b.size and a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes()


# A screenshot tool's metadata: who made it, with what, when (none of it may be kept).
TAGGED_PNG = png((b"tEXt", b"Author\x00Rita Reporter"), (b"tIME", b"\x07\xea\x03\x01\x15\x03\x11"))
UA = "Mozilla/5.0 (X11; Linux x86_64) UniqueBrowser/987.654"
SECRET_LINK = re.compile(r'href="(/follow/[A-Za-z0-9_-]{43})"')


CLIENT = "127.0.0.2"  # the browser's own address, so that it can be looked for afterwards


def client(address: str = CLIENT) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(local_addr=(address, 0))


class Site:
    """The running service, spoken to over HTTP on loopback."""

    def __init__(self, tmp: Path, relay: RelaySink, **form):
        self.tmp = tmp
        self.relay = relay
        self.port = free_port()
        self.smtp_port = free_port()
        settings = {"reports_per_hour": 30, "replies_per_hour": 20, "max_attachment_size": 2048}
        settings |= form
        keys = "\n".join(f"{k} = {v}" for k, v in settings.items())
        extra = f'[intake.form]\nhost = "127.0.0.1"\nport = {self.port}\n{keys}\n'
        config = write_config(tmp, relay_port=relay.port, intake_port=self.smtp_port,
                              command_auth="token", extra=extra)  # fmt: skip
        self.service = ServeProcess(config, self.smtp_port)
        self.base = f"http://127.0.0.1:{self.port}"
        self.source = CLIENT  # the browser's address (another loopback address: another client)
        self.headers: dict[str, str] = {}  # more request headers (a proxy's X-Forwarded-For)

    def start(self) -> None:
        self.service.start()
        wait_until(self.answering, "the web form to answer", timeout=10)

    def answering(self) -> bool:
        try:
            self.get("/report")
        except aiohttp.ClientError:
            return False
        return True

    def request(self, method: str, path: str, data=None, *, redirect: bool = True):
        async def go():
            async with (
                aiohttp.ClientSession(
                    headers={"User-Agent": UA, **self.headers}, connector=client(self.source)
                ) as session,
                session.request(
                    method, self.base + path, data=data, allow_redirects=redirect
                ) as response,  # fmt: skip
            ):
                return response.status, dict(response.headers), await response.text()

        return asyncio.run(go())

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, fields: dict, files: tuple = (), *, redirect: bool = True):
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, filename, content in files:
            form.add_field(name, content, filename=filename, content_type="image/png")
        return self.request("POST", path, form, redirect=redirect)

    def token(self, path: str = "/report") -> str:
        _, _, html = self.get(path)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def report(self, files: tuple = (), **fields) -> tuple[int, str]:
        values = {"csrf_token": self.token(), "account": "Dave Jones shouted at me in the chat."}
        status, _, html = self.post("/report", values | fields, files)
        return status, html

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.tmp / "casebook.db")

    def cases(self) -> list[tuple]:
        with self.db() as db:
            return db.execute("SELECT ref, fields FROM cases ORDER BY id").fetchall()

    def page_showing(self, path: str, text: str) -> str:
        """The page once it shows `text` (the worker sends within a second)."""

        def showing():
            html = self.get(path)[2]
            return html if text in html else None

        return wait_until(showing, f"{text!r} on the page")

    def nothing_stored_before(self) -> None:
        """Nothing sent before is stored: a good report sent now is the only case (the form
        stores in the order it answers), a condition, not a pause."""
        status, html = self.report(account="A report after the refused ones.")
        assert status == 200, html
        [(_, fields)] = self.cases()
        assert "after the refused ones" in fields


@pytest.fixture
def site(tmp_path, relay):
    s = Site(tmp_path, relay)
    s.start()
    yield s
    s.service.stop()


def member_reply(site: Site, ref: str, body: str, member: str = "alice@example.org") -> None:
    """A member answers the case's new-case notice from their own reply address."""
    notice = wait_until(lambda: [m for m in site.relay.to(member) if ref in m["Subject"]],
                       "the new-case notice")[0]  # fmt: skip
    msg = EmailMessage()
    msg["From"] = member
    msg["To"] = notice["Reply-To"]
    msg["Subject"] = f"Re: {notice['Subject']}"
    msg["In-Reply-To"] = notice["Message-ID"]
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", site.smtp_port) as smtp:
        smtp.send_message(msg, from_addr=member, to_addrs=[notice["Reply-To"]])


def test_the_form_page_has_every_field_labelled_a_token_and_strict_headers(site):
    status, headers, html = site.get("/report")
    assert status == 200
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]{40,}">', html)
    for name in ("account", "names", "witnesses", "when", "where", "links", "police", "other",
                 "screenshots", "contact"):  # fmt: skip
        assert f'<label for="{name}">' in html and f'id="{name}"' in html, name
    assert html.count('name="ongoing"') == 3 and "<legend>Is the incident ongoing?" in html
    assert 'id="account" name="account" rows="10" required' in html
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src" not in csp and csp.startswith("default-src 'none'")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Server" not in headers and "Set-Cookie" not in headers
    assert "<script" not in html and " style=" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from elsewhere
    assert 'name="viewport"' in html and '<html lang="en">' in html
    css_status, css_headers, css = site.get("/form.css")
    assert css_status == 200 and css_headers["Content-Type"].startswith("text/css")


def test_a_post_without_a_valid_token_is_403_and_stores_nothing(site):
    for token in (None, "", "123.abc.def", site.token() + "x"):
        fields = {"account": "Something happened."}
        if token is not None:
            fields["csrf_token"] = token
        status, _, html = site.post("/report", fields)
        assert status == 403, token
        assert "Nothing was stored" in html
    with sqlite3.connect(site.tmp / "spool" / "spool.db") as spool:
        assert spool.execute("SELECT COUNT(*) FROM spooled").fetchone()[0] == 0
    site.nothing_stored_before()


def test_a_token_is_good_once(site):
    token = site.token()
    first, _, _ = site.post("/report", {"csrf_token": token, "account": "It happened."})
    again, _, _ = site.post("/report", {"csrf_token": token, "account": "It happened."})
    assert (first, again) == (200, 403)
    assert len(site.cases()) == 1


def test_a_report_becomes_an_anonymous_case_with_a_follow_up_link(site, relay):
    status, html = site.report(
        names="Dave Jones",
        witnesses="Walter",
        when="yesterday at 9pm",
        where="the #general chat",
        links="https://chat.example.net/log/1",
        ongoing="not sure",
        police="none",
        other="He did it before.",
        files=(("screenshots", "Screenshot 2026-03-01 21-03-17.png", TAGGED_PNG),),
    )
    assert status == 200, html
    [(ref, fields)] = site.cases()
    assert f'<strong id="case-ref">{ref}</strong>' in html
    path = SECRET_LINK.search(html).group(1)
    secret = path.rsplit("/", 1)[1]
    assert "Bookmark it" in html and "shown only this once" in html
    with site.db() as db:
        reporter = db.execute(
            "SELECT email, name FROM parties p JOIN cases c ON c.id = p.case_pk"
            " WHERE c.ref = ? AND role = 'reporter'", [ref]
        ).fetchone()  # fmt: skip
        assert reporter == (None, None)
        [(stored_hash, created)] = db.execute(
            "SELECT secret_sha256, created_at FROM follow_up_pages"
        ).fetchall()
        transport, received, processed = db.execute(
            "SELECT transport, received_at, processed_at FROM deliveries"
        ).fetchone()
        attachment = db.execute("SELECT filename, content_type FROM attachments").fetchone()
        [picture] = db.execute("SELECT data FROM attachments").fetchone()
        raw = b"".join(bytes(r[0]) for r in db.execute("SELECT raw FROM messages"))
    assert b"Rita Reporter" not in raw and base64.b64encode(picture) in raw.replace(
        b"\r", b""
    ).replace(b"\n", b"")
    assert same_pixels(picture, PNG)
    assert stored_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert transport == "form"
    for moment in (created, received, processed):
        assert re.search(r"T\d\d:\d\d:00(?:\.0+)?(?:\+00:00|Z)?$", moment), moment
    assert attachment == ("screenshot-1.png", "image/png")
    assert '"ongoing": "not sure"' in fields and '"names": "Dave Jones"' in fields
    assert '"contact": null' in fields
    # The committee hears it came anonymously and how to answer.
    notice = wait_until(lambda: relay.to("alice@example.org"), "the new-case notice")[0]
    body = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "anonymously\nfrom the web form" in body and '"#to-reporter" reaches' in body
    assert "Reporter:     anonymous, through the web form" in body
    # Nothing anywhere holds the secret, the client's address or its user agent.
    wait_until(lambda: idle(site.service.config), "the worker to finish")
    site.service.stop()
    assert "web form on http://" in site.service.output()
    for path in [*site.tmp.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert b"UniqueBrowser" not in data, path
            assert CLIENT.encode() not in data, path


def test_an_unknown_or_malformed_follow_up_link_is_the_same_404(site):
    answers = [site.get(f"/follow/{s}") for s in ("A" * 43, "x", "B" * 43 + "C", "..%2f")]
    assert {status for status, _, _ in answers} == {404}
    assert len({html for _, _, html in answers}) == 1
    status, _, _ = site.post("/follow/" + "A" * 43, {"csrf_token": "x", "text": "hi"})
    assert status == 404


def open_report(site: Site, **fields) -> tuple[str, str]:
    status, html = site.report(**fields)
    assert status == 200, html
    ref = re.search(r'id="case-ref">([^<]+)<', html).group(1)
    return ref, SECRET_LINK.search(html).group(1)


def test_the_committee_answers_on_the_page_and_the_reply_lands_in_the_case(site, relay):
    ref, page = open_report(site)
    _, _, html = site.get(page)
    assert f"Your report {ref}" in html and 'id="no-mail"' in html
    member_reply(site, ref, "#to-reporter\nThank you. Could you tell us which channel it was?")
    html = site.page_showing(page, "which channel")
    assert "A message from the committee about your report" in html
    assert "Alice" not in html and "alice@" not in html  # never a member's name
    assert "Answer the committee with the form below" in html and "Reply to this" not in html
    status, _, html = site.post(page, {"csrf_token": site.token(page),
                                       "text": "It was #general, around 9pm."})  # fmt: skip
    assert status == 200 and "Your reply was sent to the committee" in html

    def followup():
        with site.db() as db:
            return db.execute(
                "SELECT m.kind FROM messages m JOIN cases c ON c.id = m.case_pk"
                " WHERE c.ref = ? AND m.kind = 'followup'", [ref]
            ).fetchall()  # fmt: skip

    wait_until(followup, "the reply in the case")
    told = wait_until(
        lambda: [m for m in relay.to("alice@example.org") if "More information" in m["Subject"]],
        "the follow-up notice",
    )
    body = told[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "It was #general, around 9pm." in body and "their follow-up page" in body
    # Nothing went to any address for the reporter: the page is their only copy.
    assert not [m for _, to, _, _ in relay.messages for m in to if "form.invalid" in m]


def test_a_reply_without_a_token_for_this_page_is_403(site):
    _, page = open_report(site)
    _, other = open_report(site)
    status, _, _ = site.post(page, {"csrf_token": site.token(other), "text": "hello"})
    assert status == 403
    status, _, _ = site.post(page, {"text": "hello"})
    assert status == 403


def test_consent_given_on_the_page_counts_as_by_mail(site, relay):
    ref, page = open_report(site)
    member_reply(site, ref, "#propose no-action\nWe found no breach of the code.")
    for member in ("bob@example.org", "carol@example.org"):
        member_reply(site, ref, "#agree", member=member)
    member_reply(site, ref, "#consult")
    site.page_showing(page, "proposed")
    site.post(page, {"csrf_token": site.token(page), "text": "Yes, I agree."})

    def consent():
        with site.db() as db:
            return db.execute(
                "SELECT p.consent FROM parties p JOIN cases c ON c.id = p.case_pk"
                " WHERE c.ref = ? AND p.role = 'reporter' AND p.consent IS NOT NULL", [ref]
            ).fetchone()  # fmt: skip

    assert wait_until(consent, "the consent") == ("agreed",)


def test_a_contact_address_gets_the_committee_mail_too(site, relay):
    ref, page = open_report(site, contact="rita@example.net")
    member_reply(site, ref, "#to-reporter\nWe are looking into it.")
    mail = wait_until(lambda: relay.to("rita@example.net"), "the mail to the contact address")
    assert "We are looking into it." in mail[0].get_body(("plain",)).get_content().replace(
        "\r\n", "\n"
    )
    assert "We are looking into it." in site.get(page)[2]
    assert page.encode() not in b"".join(raw for _, _, raw, _ in relay.messages)  # never mailed


def test_the_honeypot_and_bad_screenshots_are_refused_and_nothing_is_stored(site):
    status, _ = site.report(website="http://spam.example")
    assert status == 400
    status, html = site.report(files=(("screenshots", "a.png", b"not an image"),))
    assert status == 400 and "must be PNG, JPEG, GIF or WebP" in html
    assert "Dave Jones shouted at me" in html  # what they wrote is kept in the form
    status, html = site.report(files=(("screenshots", "a.png", PNG + b"\x00" * 4096),))
    assert status == 400 and "at most" in html
    status, html = site.report(account="   ")
    assert status == 400 and "this is the one field we need" in html
    site.nothing_stored_before()


@pytest.mark.parametrize(
    "contact", ["rita(home)@example.net", "rita@example.net)", "rita@[1.2.3.4]"]
)
def test_a_contact_address_outside_the_one_address_grammar_is_refused(site, contact):
    # The form reads the grammar the mail does (archive/record/address_grammar.py, issue 19): a
    # comment or a bracket in the address once passed the form's own looser pattern.
    status, html = site.report(contact=contact)
    assert status == 400 and "does not look like an email address" in html
    assert "Dave Jones shouted at me" in html  # what they wrote is kept in the form
    assert site.cases() == []


def test_a_request_over_the_size_limit_is_413(site):
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 2048 + 500_000)
    status, html = site.report(files=(("screenshots", "a.png", big),))
    assert status == 413 and "larger than the form takes" in html
    assert site.cases() == []


@pytest.fixture
def tight_site(tmp_path, relay):
    s = Site(tmp_path, relay, reports_per_hour=2, replies_per_hour=1)
    s.start()
    yield s
    s.service.stop()


def test_rate_limits_need_no_ip_address(tight_site):
    site = tight_site
    assert [site.report()[0] for _ in range(3)] == [200, 200, 429]
    assert len(site.cases()) == 2
    with site.db() as db:
        ref = db.execute("SELECT ref FROM cases ORDER BY id").fetchone()[0]
    assert "429" not in ref
    # One page's replies have their own bucket: a second reply within the hour waits.
    page = f"/follow/{'A' * 43}"
    assert site.get(page)[0] == 404


def test_replies_are_limited_per_page(tight_site):
    site = tight_site
    _, page = open_report(site)
    first = site.post(page, {"csrf_token": site.token(page), "text": "one"})[0]
    second = site.post(page, {"csrf_token": site.token(page), "text": "two"})[0]
    assert (first, second) == (200, 429)


def test_mail_claiming_to_be_from_the_form_is_ordinary_mail(site, relay):
    """The form's headers in SMTP mail count for nothing: only the form spools `form`."""
    msg = EmailMessage()
    msg["From"] = "mallory@example.net"
    msg["To"] = "conduct@example.org"
    msg["Subject"] = "Report"
    msg["X-Casebook-Form"] = "follow-up"
    msg["X-Casebook-Page"] = "0" * 64
    msg.set_content("Names: Dave\nAccount: something")
    with smtplib.SMTP("127.0.0.1", site.smtp_port) as smtp:
        smtp.send_message(msg)
    wait_until(site.cases, "the case")
    with site.db() as db:
        assert db.execute("SELECT email FROM parties WHERE role = 'reporter'").fetchone() == (
            "mallory@example.net",
        )
        assert db.execute("SELECT COUNT(*) FROM follow_up_pages").fetchone()[0] == 0


def test_a_malformed_request_or_an_abandoned_upload_logs_nothing_of_the_client(site):
    """aiohttp would log the client's address and a traceback quoting the request."""
    import socket

    requests = (
        b"GET /report HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        # an upload the browser gives up on half-way
        b"POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b'Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="account"\r\n'
        b"\r\nhalf",
    )
    for raw in requests:
        with socket.create_connection(("127.0.0.1", site.port), source_address=(CLIENT, 0)) as conn:
            conn.sendall(raw)
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(4096)
    # The server logs nothing when it notices the abandoned upload, so no line can be waited
    # for: the log is read once serve has exited, with all it will ever write.
    log = site.service.stop()
    assert CLIENT not in log and "Error handling request" not in log
    assert "Traceback" not in log and "aaaa" not in log


def test_the_receipt_page_is_the_acknowledgement_no_overdue_alarm(site, relay):
    """A phone's anonymous report saw its case number and link on the receipt page at once:
    an hour later the committee is not told "its reporter has not been sent an
    acknowledgement yet", and the council's digest lists no overdue acknowledgement."""
    status, html = site.report(names="Dave Jones")
    assert status == 200, html
    [(ref, _)] = site.cases()
    wait_until(lambda: relay.to("alice@example.org"), "the new-case notice")
    site.service.stop()
    later = datetime.now(UTC) + timedelta(days=2)
    done = run_casebook("-c", str(site.service.config), "tick", "--now", later.isoformat())
    assert done.returncode == 0, done.stderr
    subjects = [m["Subject"] for m in relay.to("alice@example.org")]
    assert not any("not yet acknowledged" in s for s in subjects), subjects
    with site.db() as db:
        [(state,)] = db.execute("SELECT state FROM cases WHERE ref = ?", [ref]).fetchall()
    assert state == "acknowledged"
    digest = run_casebook("-c", str(site.service.config), "digest", "--now", later.isoformat())
    assert "Acknowledgement overdue" not in digest.stdout.decode(), digest.stdout.decode()
