"""`casebook serve`: two processes, like Mailman's runners.

- the intake process: the SMTP/LMTP edge, the web form, the IMAP poller (when configured)
  and the durable spool (and the demo sink); it only stores and answers, so a busy worker
  never slows a 250;
- the worker process: the spool processor (parse, ingest; big mail in a lane of its own), the
  sender and the scheduler.

They meet in the archive's tables; a pipe carries a byte per commit so the worker wakes at
once, and its end of file tells the worker that intake has gone (so it exits too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import re
import signal
import sqlite3
import threading
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from archive.record.cases import party_by_token
from archive.record.db import ArchiveUnavailable, open_archive, open_reader
from archive.record.outbox import due_mail
from archive.record.settings import Settings
from archive.record.timestamps import utc_now
from casebook.config import ConfigError
from casebook.restore import hold_archive
from casebook.sink import sink_factory
from casebook.storage import StorageWatch, storage_problem
from casebook.tick import fire_clocks
from intake.imap import ImapUnavailable, poll_imap
from intake.lanes import BIG, SMALL, lane_has_work
from intake.process import process_spooled
from intake.recheck import recheck_conflicts
from intake.smtp import make_protocol_factory
from intake.spool import SpoolWriter, count_spooled, open_spool, spool_path
from mailer.render import TemplateProblem, make_environment, render_template
from mailer.send import committee_facts, send_due, sender_identity
from webform.app import WebFormApp
from webform.server import start_web_form

log = logging.getLogger("casebook")
PROCESS_CHUNK = 32  # spooled messages per archive commit
SEND_CHUNK = 200  # outbox items per lease, relay connection and WAL fsync (about 0.3 s of mail)
BUSY_RETRY = 0.5  # seconds between tries while another sender holds the lease


class Worker:
    """Wakes the processor when mail is stored and the sender when mail is queued."""

    def __init__(self, settings: Settings, wake_fd: int):
        self.settings = settings
        self.wake_fd = wake_fd
        self.stored = {SMALL: asyncio.Event(), BIG: asyncio.Event()}  # one per lane
        self.queued = asyncio.Event()
        self.clocks_due = False
        self.stopping = asyncio.Event()
        self.holder = sender_identity()
        self.storage = StorageWatch()  # one line per outage, not a traceback per sweep

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.wake_fd, self._on_wake)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.settings.sweep_interval.total_seconds(),
            id="sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # a sweep that is late still runs: nothing due is dropped
        )
        scheduler.start()
        self.sweep()
        workers = [
            asyncio.create_task(self.process_loop()),
            asyncio.create_task(self.send_loop()),
        ]
        await self.stopping.wait()
        scheduler.shutdown(wait=False)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    def _on_wake(self) -> None:
        try:
            data = os.read(self.wake_fd, 65536)
        except BlockingIOError:
            return
        if not data:  # intake has gone: so do we
            asyncio.get_running_loop().remove_reader(self.wake_fd)
            self.stopping.set()
            return
        self._wake_lanes()

    def _wake_lanes(self) -> None:
        for event in self.stored.values():
            event.set()

    def sweep(self) -> None:
        """The scheduler's tick: the spool, the clocks and the digest, the outbox (retries)."""
        self.clocks_due = True
        self._wake_lanes()
        self.queued.set()

    async def process_loop(self) -> None:
        db = open_archive(self.settings.database)
        try:
            await asyncio.to_thread(recheck_conflicts, db, self.settings, utc_now())
        except Exception:
            log.exception("checking conflicts against the changed members failed")
        db.close()
        # Two lanes, each with its own connections: a big message being processed never
        # keeps the small ones (reports and their acknowledgements) waiting behind it.
        await asyncio.gather(self.lane_loop(SMALL), self.lane_loop(BIG))

    async def lane_loop(self, lane: str) -> None:
        db = open_archive(self.settings.database)
        spool = open_spool(spool_path(self.settings))
        while True:
            await self.stored[lane].wait()
            self.stored[lane].clear()
            await self.drain_lane(db, spool, lane)

    async def drain_lane(self, db, spool, lane: str) -> None:
        """Ingest what `lane` may take until it has nothing, a chunk (one archive commit) at
        a time (in the big lane, one message).

        Each chunk wakes the sender, so acknowledgements leave while the rest is ingested,
        and the other lane, as mail there may have waited for this chunk; a stop waits for
        one chunk at most, not for a whole backlog.
        """
        chunk, other = (PROCESS_CHUNK, BIG) if lane == SMALL else (1, SMALL)
        loop = asyncio.get_running_loop()

        def committed() -> None:  # the sender goes at once, not after the spool's release
            loop.call_soon_threadsafe(self.queued.set)

        while not self.stopping.is_set():
            try:
                # Only what is due: a message waiting for its retry must not spin this loop.
                if not await asyncio.to_thread(lane_has_work, spool, lane, utc_now()):
                    return
                await asyncio.to_thread(
                    process_spooled,
                    db,
                    spool,
                    self.settings,
                    utc_now,
                    chunk,
                    lane=lane,
                    committed=committed,
                )
            except Exception as exc:
                self.trouble(exc, "processing the spool failed")
                return
            self.storage.succeeded()
            self.queued.set()  # something was waiting: even a flood note alone queues an alert
            self.stored[other].set()

    def trouble(self, exc: Exception, what: str) -> None:
        """Storage trouble once per outage, without a traceback; anything else in full."""
        problem = storage_problem(exc, self.settings.database)
        if problem is None:
            log.exception("%s; will retry at the next sweep", what)
        else:
            self.storage.failed(problem, self.spooled())

    def spooled(self) -> int | None:
        """Messages waiting in the spool (None if it cannot be read either), for the log."""
        try:
            spool = open_spool(spool_path(self.settings))
        except Exception:  # noqa: BLE001 - the line is said without the number
            return None
        try:
            return count_spooled(spool)
        except sqlite3.Error:
            return None
        finally:
            spool.close()

    async def send_loop(self) -> None:
        db = open_archive(self.settings.database)
        while True:
            await self.queued.wait()
            self.queued.clear()
            try:
                # Deadlines and the digest on the scheduler's sweep only, not on every mail.
                if self.clocks_due:
                    self.clocks_due = False
                    fired, _ = await asyncio.to_thread(fire_clocks, db, self.settings, utc_now())
                    if fired:
                        log.info("%d deadline(s) fired", len(fired))
                await self.drain_outbox(db)
            except Exception as exc:
                self.trouble(exc, "sending failed")

    async def drain_outbox(self, db) -> None:
        """Send until nothing is due, a chunk at a time; a busy lease is tried again shortly.

        The lease is busy after a restart while the old worker finishes its chunk, or while
        `casebook tick` sends; waiting for the next sweep would keep every reporter waiting.
        """
        while not self.stopping.is_set():
            report = await asyncio.to_thread(
                send_due, db, self.settings, utc_now(), holder=self.holder, limit=SEND_CHUNK
            )
            handled = report.sent + report.postponed + report.failed
            if handled:
                log.info(
                    "mail: %d sent, %d postponed, %d failed",
                    report.sent,
                    report.postponed,
                    report.failed,
                )
            if report.busy:
                await asyncio.sleep(BUSY_RETRY)
                continue
            # Nothing handled (only withheld mail, say) stops too, so this loop always ends.
            if not handled or not await asyncio.to_thread(due_mail, db, utc_now(), 1):
                return


class Intake:
    """The SMTP/LMTP edge and the spool; pokes the worker after each commit.

    Intake is no use without its worker or its spool writer: if either dies, it answers 451
    to mail in flight, stops listening and `serve` exits non-zero, so the supervisor
    (systemd's Restart=on-failure) starts both afresh.
    """

    def __init__(self, settings: Settings, wake_fd: int, with_sink: bool, worker=None, reload=None):
        self.settings = settings
        self.reload = reload  # reads the configuration again (SIGHUP); None: HUP is ignored
        self.reloaded: Settings | None = None
        self.wake_fd = wake_fd
        self.with_sink = with_sink
        self.worker = worker  # the worker's multiprocessing.Process, watched through its sentinel
        self.stopping = asyncio.Event()
        self.failure: str | None = None
        self.spool: SpoolWriter | None = None

    def _poke(self) -> None:
        # Full: wake-ups are pending already. Broken: the worker has gone, and its sentinel
        # tells `_on_worker_exit`; the poke must not take the spool writer down with it.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self.wake_fd, b".")

    def _on_worker_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self.worker.sentinel)
        self.worker.join(timeout=1)  # reaps it, so its exit code is known
        code = self.worker.exitcode
        how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
        self.fail(f"the worker process (pid {self.worker.pid}) died ({how})")

    def fail(self, reason: str) -> None:
        """Stop taking mail and stop intake, so that `serve` exits non-zero."""
        if self.failure is not None:
            return
        self.failure = reason
        log.error("%s; intake stops so that casebook serve is restarted", reason)
        if self.spool is not None:
            self.spool.refuse(f"{reason}; casebook is restarting")
        self.stopping.set()

    async def imap_loop(self) -> None:
        """Poll the configured mailbox every `interval`; new mail wakes the worker."""
        spool = open_spool(spool_path(self.settings))
        while True:
            try:
                fetched = await asyncio.to_thread(poll_imap, self.settings, spool, utc_now())
                if fetched:
                    self._poke()
            except ImapUnavailable as exc:
                log.warning("%s; trying again in %s", exc, self.settings.imap.interval)
            await asyncio.sleep(self.settings.imap.interval.total_seconds())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        spool = self.spool = SpoolWriter(
            spool_path(settings),
            on_stored=self._poke,
            on_failure=lambda reason: loop.call_soon_threadsafe(self.fail, reason),
        )
        spool.start()
        servers, web_runner = await self.start_servers(spool)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.on_hangup)
        if self.worker is not None:
            loop.add_reader(self.worker.sentinel, self._on_worker_exit)
        self.announce()
        poller = asyncio.create_task(self.imap_loop()) if settings.imap else None
        await self.stopping.wait()
        # Closing the loop would give SIGHUP back its default (death) while this process
        # still waits for the worker: from here on a hangup changes nothing.
        loop.remove_signal_handler(signal.SIGHUP)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if self.worker is not None:
            loop.remove_reader(self.worker.sentinel)
        if poller:
            poller.cancel()
        await self.stop_servers(servers, web_runner)
        spool.stop()

    async def start_servers(self, spool: SpoolWriter) -> tuple[list, object]:
        """The demo sink (with --with-sink), the intake and the web form listening; none of
        them left listening, and the spool stopped, if one cannot."""
        settings = self.settings
        servers = []
        try:
            if self.with_sink:
                sink_dir = Path(settings.database).parent / "sink"
                servers.append(
                    await listen(sink_factory(sink_dir), settings.relay.host, settings.relay.port)
                )
                print(f"[sink] outgoing mail is kept in {sink_dir}/new and listed here", flush=True)
            intake = make_protocol_factory(
                settings, spool, token_owner=TokenOwners(settings.database)
            )
            servers.append(await listen(intake, settings.intake_host, settings.intake_port))
            return servers, await self.start_form(spool)
        except CannotListen:
            for server in servers:
                server.close()
            spool.stop()
            raise

    def announce(self) -> None:
        """Where intake (and the web form) listen, and any insecure setting, once at start."""
        settings = self.settings
        protocol = "LMTP" if settings.lmtp else "SMTP"
        print(
            f"casebook: {protocol} intake on {settings.intake_host}:{settings.intake_port},"
            f" reports to {settings.reports}, relay {settings.relay.host}:{settings.relay.port}",
            flush=True,
        )
        if settings.insecure_from_only:
            log.warning(
                "INSECURE: insecure_from_only = true: commands are trusted on the From header"
                " alone. Never use this outside development."
            )
        if settings.form:
            scheme = "https" if settings.form.tls_cert else "http"
            where = f"{scheme}://{settings.form.host}:{settings.form.port}/report"
            print(f"casebook: web form on {where}", flush=True)

    async def stop_servers(self, servers: list, web_runner) -> None:
        """Stop listening; open sessions finish, unless intake stops for a failure."""
        for server in servers:
            server.close()
        if web_runner is not None:
            await web_runner.cleanup()
        if self.failure:
            # Sessions already open get their 451 at DATA for a moment; then the exit drops them.
            await asyncio.sleep(IN_FLIGHT_GRACE)
        else:
            for server in servers:
                await server.wait_closed()

    def on_hangup(self) -> None:
        """SIGHUP: a valid configuration restarts intake and worker with it; else it is said."""
        if self.reload is None or self.stopping.is_set():
            log.warning("SIGHUP ignored: restart casebook serve to read the configuration again")
            return
        try:
            settings = self.reload()
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config: %s", problem)
            log.error("SIGHUP: the configuration has problems; still running with the old one")
            return
        if settings.database != self.settings.database:
            log.error("SIGHUP: database cannot change on a reload; restart casebook serve")
            return
        log.info("SIGHUP: configuration read; restarting intake and worker with it")
        self.reloaded = settings
        self.stopping.set()

    async def start_form(self, spool: SpoolWriter):
        """The web form in this event loop, storing through the same spool writer."""
        settings = self.settings
        if settings.form is None:
            return None
        app = WebFormApp(
            settings, spool.store, mail_renderer(settings), note_flood=spool.note_flood
        )
        try:
            return await start_web_form(app)
        except OSError as exc:
            where = f"{settings.form.host}:{settings.form.port}"
            raise CannotListen(f"cannot listen on {where}: {exc.strerror or exc}") from None


class TokenOwners:
    """Whose a reply address's token is, for the edge's members' budget: the member's or
    council member's address, read from the archive read-only (one connection, opened when
    first needed, shared by the edge's threads under a lock). Unreadable: nobody's."""

    def __init__(self, database: Path | str):
        self.database = database
        self.reader = None
        self.lock = threading.Lock()

    def __call__(self, token: str) -> str | None:
        with self.lock:
            try:
                if self.reader is None:
                    self.reader = open_reader(self.database)
                party = party_by_token(self.reader, token)
            except (ArchiveUnavailable, sqlite3.Error):
                return None
        return party.email if party is not None and party.role in ("member", "council") else None


def mail_renderer(settings: Settings):
    """A reporter's mail as they would read it, for their follow-up page: (subject, text)."""
    env = make_environment(settings.templates_override)

    def render(template: str, context: dict) -> tuple[str, str]:
        fields = {
            **context,
            **committee_facts(settings),
            "reply_address": None,
            "recipient_name": None,
        }
        try:
            rendered = render_template(env, template, fields)
        except TemplateProblem:
            log.exception("a message for a follow-up page could not be rendered")
            return "A message from the committee", "(This message cannot be shown here.)"
        return rendered.subject, for_the_page(rendered.text)

    return render


_ON_THE_PAGE = (
    (
        re.compile(r"\b[Rr]eply to this message to answer the committee\b"),
        "Answer the committee with the form below",
    ),
    (re.compile(r"\breply to this message\b"), "answer with the form below"),
    (re.compile(r"\bReply to this message\b"), "Answer with the form below"),
)


def for_the_page(text: str) -> str:
    """A reporter's mail as the page shows it: on the page one answers with the form below it,
    not by replying (the mail's own words stay as they are for a contact address)."""
    for pattern, words in _ON_THE_PAGE:
        text = pattern.sub(words, text)
    return text


WORKER_NICENESS = 10
IN_FLIGHT_GRACE = 2.0  # seconds


class CannotListen(Exception):
    """A port casebook must listen on is taken or not allowed; the message says which."""


async def listen(factory, host: str, port: int):
    try:
        return await asyncio.get_running_loop().create_server(factory, host, port)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _worker_main(settings: Settings, read_fd: int, write_fd: int) -> None:
    os.close(write_fd)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # intake's to handle (a terminal's HUP too)
    # Under a burst the CPU goes to accepting mail first; the worker catches up after it.
    os.nice(WORKER_NICENESS)
    os.set_blocking(read_fd, False)
    asyncio.run(Worker(settings, read_fd).run())


def run_service(settings: Settings, *, with_sink: bool = False, reload=None) -> int:
    """Run both processes until stopped; non-zero if one of them died (so it is restarted).

    SIGHUP (systemd's `ExecReload=`) reads the configuration again through `reload`: when it
    is valid, both processes stop as for SIGTERM and start afresh with it (members, council,
    templates, limits); when it is not, each problem is logged and the service runs on.
    """
    # Held by both processes (the worker inherits it), so `restore` waits for them both.
    hold = hold_archive(Path(settings.database))
    try:
        while True:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # never die of it between two runs
            intake = run_once(settings, with_sink, reload)
            if intake.failure or intake.reloaded is None:
                return 1 if intake.failure else 0
            settings = intake.reloaded
            log.info("configuration reloaded; intake and worker started afresh")
    finally:
        hold.close()


def run_once(settings: Settings, with_sink: bool, reload) -> Intake:
    """One run of intake and its worker, until a stop, a failure or a valid reload."""
    open_archive(settings.database).close()  # migrate once, before either process starts
    open_spool(spool_path(settings)).close()
    read_fd, write_fd = os.pipe()
    # Fork before any event loop or thread exists in this process.
    worker = multiprocessing.get_context("fork").Process(
        target=_worker_main, args=(settings, read_fd, write_fd), name="casebook-worker"
    )
    worker.start()
    os.close(read_fd)
    os.set_blocking(write_fd, False)
    intake = Intake(settings, write_fd, with_sink, worker, reload=reload)
    try:
        asyncio.run(intake.run())
    finally:
        os.close(write_fd)  # the worker sees end of file and stops
        worker.join(timeout=15)
        if worker.is_alive():
            worker.terminate()
            worker.join()
    return intake
