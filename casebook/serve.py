"""`casebook serve`: intake, the spool processor, the sender and the scheduler in one loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from archive.clock import utc_now
from archive.db import open_archive
from archive.settings import Settings
from casebook.sink import sink_factory
from intake.process import process_spooled
from intake.smtp import make_protocol_factory
from intake.spool import SpoolWriter
from mailer.send import send_due, sender_identity

log = logging.getLogger("casebook")


class Service:
    """Wakes the processor when mail is stored and the sender when mail is queued."""

    def __init__(self, settings: Settings, *, with_sink: bool = False):
        self.settings = settings
        self.with_sink = with_sink
        self.stored = asyncio.Event()
        self.queued = asyncio.Event()
        self.stopping = asyncio.Event()
        self.holder = sender_identity()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        spool = SpoolWriter(settings.database, on_stored=lambda: loop.call_soon_threadsafe(
            self.stored.set))  # fmt: skip
        spool.start()
        servers = []
        if self.with_sink:
            sink_dir = Path(settings.database).parent / "sink"
            servers.append(
                await loop.create_server(
                    sink_factory(sink_dir), settings.relay.host, settings.relay.port
                )
            )
            print(f"[sink] outgoing mail is kept in {sink_dir}/new and listed here", flush=True)
        servers.append(
            await loop.create_server(
                make_protocol_factory(settings, spool), settings.intake_host, settings.intake_port
            )
        )
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.sweep,
            "interval",
            seconds=settings.sweep_interval.total_seconds(),
            id="sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
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
        self.sweep()
        workers = [
            asyncio.create_task(self.process_loop()),
            asyncio.create_task(self.send_loop()),
        ]
        await self.stopping.wait()
        scheduler.shutdown(wait=False)
        for server in servers:
            server.close()
            await server.wait_closed()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        spool.stop()

    def sweep(self) -> None:
        """The scheduler's tick: look at the spool and the outbox (retries, due mail)."""
        self.stored.set()
        self.queued.set()

    async def process_loop(self) -> None:
        db = open_archive(self.settings.database)
        while True:
            await self.stored.wait()
            self.stored.clear()
            while True:
                results = await asyncio.to_thread(process_spooled, db, self.settings, utc_now)
                if results:
                    self.queued.set()
                if len(results) < 500:
                    break

    async def send_loop(self) -> None:
        db = open_archive(self.settings.database)
        while True:
            await self.queued.wait()
            self.queued.clear()
            try:
                report = await asyncio.to_thread(
                    send_due, db, self.settings, utc_now(), holder=self.holder
                )
            except Exception:
                log.exception("sending failed; will retry at the next sweep")
                continue
            if report.sent or report.postponed or report.failed:
                log.info(
                    "mail: %d sent, %d postponed, %d failed",
                    report.sent,
                    report.postponed,
                    report.failed,
                )


def run_service(settings: Settings, *, with_sink: bool = False) -> None:
    asyncio.run(Service(settings, with_sink=with_sink).run())
