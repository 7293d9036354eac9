"""`make bench`: acknowledgement latency and intake throughput, with a same-run baseline.

Not a test: it prints a table. Every server listens on 127.0.0.1 and every loop is bounded.

- ack latency: SMTP 250 for a report → the relay sink has the acknowledgement, at a steady
  rate of reports from distinct senders (p50 / p99);
- intake throughput: 20 concurrent SMTP sessions, full durability, reported as accepted
  (all 250s received) and processed (every delivery ingested into a case), next to a bare
  aiosmtpd handler that only appends each message to a file and fsyncs, in the same run.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bigmail, flood, importing, outbox  # noqa: E402
from bench.probes import free_port, percentile, proc_status_mib, wait_for_port  # noqa: E402
from bench.service import report, running  # noqa: E402
from bench.table import Row, markdown, write_results  # noqa: E402
from tests.conftest import write_config  # noqa: E402  (the same config the tests use)

RESULTS = ROOT / "bench" / "results.json"
PARTS = {"bigmail": bigmail.measure, "flood": flood.measure}  # `--only`: one part alone
SCALE_RESULTS = ROOT / "bench" / "results-scale.json"

BARE_SERVER = r"""
import asyncio, os, sys
from aiosmtpd.smtp import SMTP

class Append:
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    async def handle_DATA(self, server, session, envelope):
        os.write(self.fd, envelope.original_content + b"\n")
        os.fsync(self.fd)
        return "250 OK"

async def main():
    handler = Append(sys.argv[2])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False), "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

asyncio.run(main())
"""


def blast(port: int, sessions: int, per_session: int, tag: str) -> float:
    """Send sessions × per_session reports over concurrent SMTP sessions; seconds taken."""
    import smtplib

    barrier = threading.Barrier(sessions + 1)
    errors: list[Exception] = []

    def session(worker: int) -> None:
        messages = [report(worker * per_session + i, tag) for i in range(per_session)]
        barrier.wait()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                for sender, raw in messages:
                    client.sendmail(sender, ["conduct@example.org"], raw)
        except Exception as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(w,)) for w in range(sessions)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.monotonic()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} session(s) failed: {errors[0]!r}")
    return time.monotonic() - start


def bare_throughput(total: int, sessions: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", BARE_SERVER, str(port), os.path.join(tmp, "spool")]
        )
        try:
            wait_for_port(port, proc)
            seconds = blast(port, sessions, total // sessions, "bare")
        finally:
            proc.terminate()
            proc.wait()
    return total / seconds


def casebook_throughput(total: int, sessions: int) -> tuple[float, float]:
    with running() as service:
        start = time.monotonic()
        blast(service.port, sessions, total // sessions, "thr")
        accepted = time.monotonic() - start
        db = sqlite3.connect(service.database)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
            if done >= total:
                break
            time.sleep(0.01)
        processed = time.monotonic() - start
        db.close()
        global SERVE_MEMORY
        SERVE_MEMORY = proc_status_mib(service.proc.pid, "VmHWM")  # peak, before it stops
    return total / accepted, total / processed


def ack_latency(rate: float, seconds: float) -> list[float]:
    import smtplib

    accepted_at: dict[str, float] = {}
    with running() as service:
        count = int(rate * seconds)
        start = time.monotonic()
        for n in range(count):
            target = start + n / rate
            time.sleep(max(0.0, target - time.monotonic()))
            sender, raw = report(n, "lat")
            with smtplib.SMTP("127.0.0.1", service.port, timeout=30) as client:
                client.sendmail(sender, ["conduct@example.org"], raw)
            accepted_at[sender] = time.monotonic()
        deadline = time.monotonic() + 30
        while len(service.sink.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.01)
    arrivals = service.sink.arrivals
    return [(arrivals[s] - t) * 1000 for s, t in accepted_at.items() if s in arrivals] + [
        float("inf")
    ] * (len(accepted_at) - len(arrivals))


CORPUS = ROOT.parent / "shared" / "corpus" / "linux-mips" / "linux-mips-1996-2002.mbox"


SERVE_MEMORY = float("nan")
CASES = 2000
SEARCHES = ("kernel panic", "cache flush", "Ralf", "R4000", "patch", "ioremap", "SGI Indy",
            "binutils", "ELF", "interrupt")  # fmt: skip


def archive_measures() -> dict | None:
    """On the real corpus (imported, untimed: bench/importing.py times imports): search
    latency and digest time."""
    if not CORPUS.exists():
        return None
    from archive.clock import utc_now
    from archive.db import open_archive
    from archive.digest import digest_data
    from archive.ingest import ingest_message
    from archive.search import search_messages
    from casebook.config import load_settings
    from intake.importer import import_paths
    from intake.parse import parse_message

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(write_config(Path(tmp)))
        db = open_archive(settings.database)
        imported = import_paths(db, settings, [CORPUS], utc_now())
        latencies = []
        for _ in range(3):
            for query in SEARCHES:
                began = time.perf_counter()
                search_messages(db, query)
                latencies.append((time.perf_counter() - began) * 1000)
        now = utc_now()
        for n in range(CASES):
            sender, raw = report(n, "digest")
            msg = parse_message(raw, envelope_from=sender, envelope_to=(settings.reports,),
                                settings=settings, loop_id="bench")  # fmt: skip
            ingest_message(db, msg, settings, now - timedelta(hours=n))
        began = time.perf_counter()
        digest_data(db, settings, now)
        digest_ms = (time.perf_counter() - began) * 1000
        db.close()
    return {
        "messages": imported.read,
        "search_p50": percentile(latencies, 50),
        "search_p99": percentile(latencies, 99),
        "digest_ms": digest_ms,
    }


def main() -> None:
    import logging

    logging.getLogger("mailparser").setLevel(logging.ERROR)  # it warns per unusual part
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1000, help="messages per throughput run")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="reports/s for latency")
    parser.add_argument("--seconds", type=float, default=30.0, help="latency run length")
    parser.add_argument("--no-scale", action="store_true", help="skip the 100k-message archive")
    parser.add_argument("--drain-reports", type=int, default=200, help="outbox: 2 mails each")
    parser.add_argument("--drain-runs", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=3, help="casebook vs notmuch, each")
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only the 100k-message archive (written to bench/results-scale.json)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(PARTS),
        help="only this part, printed and written to bench/results-PART.json",
    )
    args = parser.parse_args()
    if args.only:
        rows = PARTS[args.only](args)
        print()
        print(markdown(rows))
        path = ROOT / "bench" / f"results-{args.only}.json"
        write_results(rows, path, vars(args))
        print(f"\nwritten to {path.relative_to(ROOT)}")
        return
    if args.scale_only:
        from bench import scale

        rows = scale.measure(args)
        print()
        print(markdown(rows))
        write_results(rows, SCALE_RESULTS, vars(args))
        print(f"\nwritten to {SCALE_RESULTS.relative_to(ROOT)}")
        return

    print(f"ack latency: {args.rate:g} reports/s for {args.seconds:g} s ...", flush=True)
    latencies = ack_latency(args.rate, args.seconds)
    print(f"throughput: {args.total} messages over {args.sessions} sessions ...", flush=True)
    bare = bare_throughput(args.total, args.sessions)
    accepted, processed = casebook_throughput(args.total, args.sessions)
    print(f"outbox drain: {2 * args.drain_reports} mails, casebook and smtplib ...", flush=True)
    drain_rows = outbox.measure(args)
    print(f"import: casebook and notmuch on the corpus, {args.import_runs} runs ...", flush=True)
    import_rows = importing.measure(args)
    print("ack latency during a flood from one sender ...", flush=True)
    flood_rows = flood.measure(args)
    print("ack latency while 10 big messages are processed ...", flush=True)
    big_rows = bigmail.measure(args)
    print("search and digest on the linux-mips corpus ...", flush=True)
    measures = archive_measures()

    p99 = percentile(latencies, 99)
    rows = [
        Row("ack latency p50 (250 → relay has ack)", percentile(latencies, 50), "ms"),
        Row("ack latency p99", p99, "ms", target="< 500 ms", met=p99 < 500),
        Row(f"intake accepted (250), {args.sessions} sessions", accepted, "msg/s",
            target="≥ 50 % of bare", met=accepted >= 0.5 * bare,
            baseline="bare aiosmtpd append+fsync", baseline_value=bare,
            ratio=f"{100 * accepted / bare:.0f} %"),
        Row("intake processed to a case", processed, "msg/s", baseline="bare aiosmtpd",
            baseline_value=bare, ratio=f"{100 * processed / bare:.0f} %"),
        Row("serve intake process, peak memory", SERVE_MEMORY, "MB"),
        *drain_rows,
        *import_rows,
    ]  # fmt: skip
    rows += flood_rows + big_rows
    if measures:
        rows += [
            Row("search latency p50 (corpus archive)", measures["search_p50"], "ms"),
            Row("search latency p99 (corpus archive)", measures["search_p99"], "ms"),
            Row(f"digest time ({CASES} open cases + corpus)", measures["digest_ms"], "ms"),
        ]  # fmt: skip
    else:
        rows.append(Row("search, digest on the corpus", None, "", note="no corpus"))
    if not args.no_scale:
        from bench import scale

        rows += scale.measure(args)
    print()
    print(markdown(rows))
    write_results(rows, RESULTS, vars(args))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
