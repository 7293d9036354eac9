"""Scale: an archive of 100k messages and 10k cases, and what the committee feels at that size.

`build(path, messages, cases)` writes the archive; `measure(args)` gives the bench rows:
search p95 over a fixed set of queries, the digest's time, `casebook cases` and `casebook show`
(the installed CLI as a subprocess, wall time, beside the in-process query time), and the RSS of
`casebook serve` on a 10k-message and a 100k-message archive.

How the archive is built, and why it is the same as the real thing:

- Cases go through the real pipeline: each report, follow-up and committee command is a raw
  message parsed by `intake.parse.parse_message` and archived by `archive.ingest.ingest_message`,
  in simulated time (about one report every 1.7 hours over 2 years); each simulated day ends with
  the real deadline sweep (`archive.clocks.fire_due`). Commands use token mode
  (`command_auth = "token"`: members write to their own reply address of the case), so no
  DKIM signing is needed per message.
- Mail the archive queues is marked sent with `archive.sending.finish_item` (what the mailer
  records once the relay took every copy: the item sent, a `mail-sent` event, an acknowledged
  case), without rendering it or talking SMTP; so the sent copies themselves are not archived
  as outgoing messages. Members' reply-address parties are made with
  `archive.sending.member_party`, as the mailer makes them when it first writes to a member.
- The rest is list history, as `casebook import` archives it: the linux-mips corpus
  (`../shared/corpus/linux-mips/`, synthesized text when it is absent) is parsed once with the
  importer's own settings (`historical=True`), and copy N of a message is the same
  IncomingMessage with every Message-ID in it (own, In-Reply-To, References, the raw header)
  renamed `<local.gN@domain>`, so threads stay threads; each goes through `ingest_message`.
  Parsing each copy again would give the same rows at 5× the build time.
- Writes are batched (one transaction per simulated day, per 2,000 list messages) with
  `synchronous = OFF` while building: durability is not what is measured here.

The archive is cached under `var/bench/` keyed by GENERATOR_VERSION and size; a changed
generator (or schema, through the version) builds a new one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.probes import free_port, median, percentile, proc_status_mib, wait_for_port  # noqa: E402
from bench.table import Row  # noqa: E402

GENERATOR_VERSION = 2
CACHE = ROOT / "var" / "bench"
CORPUS = ROOT.parent / "shared" / "corpus" / "linux-mips" / "linux-mips-1996-2002.mbox"
# The archive's clock: the last simulated day ends here (a Monday morning, after the digest).
END = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
MEMBERS = (("alice@example.org", "Alice Chair"), ("bob@example.org", "Bob Member"),
           ("carol@example.org", "Carol Member"))  # fmt: skip
# What the committee looks for: list topics, names, and words from reports.
SEARCHES = ("kernel panic", "cache flush", "Ralf", "R4000", "patch", "ioremap", "SGI Indy",
            "binutils", "ELF", "interrupt", "insulted", "harassment thread", "Maciej")  # fmt: skip
MID_RE = re.compile(r"<([^<>@\s]+)@([^<>\s]+)>")
RAW_MID_RE = re.compile(rb"<([^<>@\s]+)@([^<>\s]+)>")


# ---------------------------------------------------------------- building


def archive_path(messages: int, cases: int) -> Path:
    return CACHE / f"scale-v{GENERATOR_VERSION}-{messages // 1000}k-{cases}c.db"


def config_for(directory: Path, database: Path, relay_port: int = 1, intake_port: int = 0) -> Path:
    """The tests' configuration (members Alice, Bob, Carol; council Erin), token mode."""
    from tests.conftest import write_config

    path = write_config(directory, relay_port=relay_port, command_auth="token",
                        intake_port=intake_port or free_port(), ack_daily_cap=1000)  # fmt: skip
    text = path.read_text().replace(str(directory / "casebook.db"), str(database))
    path.write_text(text)
    return path


def ensure_archive(messages: int, cases: int, log=print) -> Path:
    """The cached archive of this size, built first if missing."""
    target = archive_path(messages, cases)
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".building")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    began = time.monotonic()
    log(f"building {target.name} ({messages} messages, {cases} cases) ...")
    build(partial, messages, cases, log)
    os.replace(partial, target)
    log(f"built {target.name} in {time.monotonic() - began:.0f} s")
    return target


def build(path: Path, messages: int, cases: int, log=print) -> None:
    from archive.db import installation_id, open_archive
    from casebook.config import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(config_for(Path(tmp), path))
        db = open_archive(path)
        db.execute("PRAGMA synchronous = OFF")
        loop_id = installation_id(db)
        corpus = load_corpus(settings, loop_id, log, min(messages, 13_000))
        rng = random.Random(11)
        case_messages = _build_cases(db, settings, loop_id, cases, corpus, rng, log)
        _build_list(db, settings, corpus, messages - case_messages, log)
        db.execute("PRAGMA optimize")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()


def load_corpus(settings, loop_id: str, log, needed: int) -> list:
    """The list's history (its first `needed` messages), parsed as `casebook import` parses it,
    on every core; cached beside the archives (the parse is most of the build's time)."""
    import pickle
    from multiprocessing import get_context

    from intake.importer import iter_mbox

    source = "linux-mips" if CORPUS.exists() else "synthetic"
    cache = CACHE / f"corpus-v{GENERATOR_VERSION}-{source}-{needed}.pickle"
    if cache.exists():
        parsed = pickle.loads(cache.read_bytes())
        return [replace(msg, envelope_to=(settings.committee_list,)) for msg in parsed]
    began = time.monotonic()
    raws = [raw for raw, _ in iter_mbox(CORPUS)] if CORPUS.exists() else _synthetic_list(3000)
    raws = raws[:needed]
    with get_context("fork").Pool(min(2, os.cpu_count() or 1)) as pool:
        parsed = pool.starmap(_parse_one, [(raw, settings, loop_id) for raw in raws], 200)
    cache.write_bytes(pickle.dumps(parsed))
    log(f"  parsed {len(parsed)} list messages in {time.monotonic() - began:.0f} s")
    return parsed


def _parse_one(raw: bytes, settings, loop_id: str):
    from intake.addresses import stored_envelope_sender
    from intake.parse import parse_message

    return parse_message(raw, envelope_from=stored_envelope_sender(raw),
                         envelope_to=(settings.committee_list,), settings=settings,
                         loop_id=loop_id, transport="import", historical=True)  # fmt: skip


def _synthetic_list(count: int) -> list[bytes]:
    rng = random.Random(7)
    words = [
        "kernel",
        "panic",
        "cache",
        "flush",
        "R4000",
        "patch",
        "ioremap",
        "SGI",
        "Indy",
        "binutils",
        "ELF",
        "interrupt",
        "memory",
        "driver",
        "board",
        "boot",
        "loader",
        "toolchain",
        "endian",
        "linker",
        "page",
        "table",
        "TLB",
        "miss",
        "Ralf",
        "Maciej",
        "Harald",
        "console",
        "serial",
    ]
    out = []
    for n in range(count):
        subject = " ".join(rng.choice(words) for _ in range(5))
        body = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(20))
        parent = f"In-Reply-To: <syn{n - 1}@list.example>\n" if n % 4 else ""
        out.append(f"From: Dev {n % 300} <dev{n % 300}@list.example>\nTo: list@list.example\n"
                   f"Subject: {subject}\nMessage-ID: <syn{n}@list.example>\n{parent}"
                   f"Date: Mon, 1 Jan 2001 00:00:00 +0000\n\n{body}\n".encode())  # fmt: skip
    return out


def _renamed(msg, generation: int):
    """Copy `generation` of a parsed list message: every Message-ID in it renamed alike."""
    if generation == 0:
        return msg

    def text(value: str | None) -> str | None:
        return MID_RE.sub(rf"<\1.g{generation}@\2>", value) if value else value

    raw = RAW_MID_RE.sub(rb"<\1.g%d@\2>" % generation, msg.raw)
    return replace(
        msg, raw=raw, sha256=hashlib.sha256(raw).hexdigest(), message_id=text(msg.message_id),
        content_key=hashlib.sha256(b"g%d:" % generation + msg.content_key.encode()).hexdigest(),
        in_reply_to=text(msg.in_reply_to), references=tuple(text(r) for r in msg.references),
    )  # fmt: skip


def _build_list(db, settings, corpus: list, count: int, log) -> None:
    from archive.db import write_transaction
    from archive.ingest import ingest_message

    began = time.monotonic()
    now = END - timedelta(hours=1)
    done = 0
    while done < count:
        with write_transaction(db):
            for _ in range(min(2000, count - done)):
                msg = _renamed(corpus[done % len(corpus)], done // len(corpus))
                ingest_message(db, msg, settings, now)
                done += 1
        log(f"  list mail: {done}/{count} ({time.monotonic() - began:.0f} s)")


REPORT_LINES = (
    "Yesterday on the mailing list someone insulted me repeatedly after I asked a question.",
    "In the IRC channel a contributor kept joking about my accent after I asked them to stop.",
    "At the meetup a maintainer cornered me and would not let me leave the conversation.",
    "A reviewer has been rejecting my patches with personal remarks, see the harassment thread.",
    "Someone posted my home address in the chat after a disagreement about the build.",
)  # fmt: skip


def _raw(sender: str, to: str, subject: str, body: str, mid: str, refs: tuple = ()) -> bytes:
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {mid}",
               "Date: Mon, 2 Mar 2026 12:00:00 +0000"]  # fmt: skip
    if refs:
        headers += [f"In-Reply-To: {refs[-1]}", "References: " + " ".join(refs)]
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def _build_cases(db, settings, loop_id, cases: int, corpus: list, rng, log) -> int:
    """`cases` cases through the real pipeline, day by day; the messages they archived."""
    from archive.clocks import fire_due
    from archive.db import write_transaction

    began = time.monotonic()
    start = END - SPAN
    step = SPAN / max(cases, 1)
    plans: dict[datetime, list] = {}
    for n in range(cases):
        opened = start + step * n + timedelta(minutes=rng.randrange(0, 50))
        for offset, action in _plan(n, opened < END - timedelta(days=60), rng):
            plans.setdefault(opened + offset, []).append((n, action))
    refs: dict[int, str] = {}
    day = start.replace(hour=23, minute=59)
    count = 0
    for moment in sorted(plans):
        while moment > day:
            _close_day(db, settings, day, fire_due)
            day += timedelta(days=1)
        with write_transaction(db):
            for n, action in plans[moment]:
                count += _act(db, settings, loop_id, n, action, moment, refs, corpus, rng)
        if len(refs) and len(refs) % 1000 == 0 and action == "report":
            log(f"  cases: {len(refs)}/{cases} ({time.monotonic() - began:.0f} s)")
    while day <= END:
        _close_day(db, settings, day, fire_due)
        day += timedelta(days=1)
    _close_day(db, settings, END, fire_due)
    log(f"  {cases} cases, {count} messages in {time.monotonic() - began:.0f} s")
    return count


def _plan(n: int, old: bool, rng) -> list[tuple[timedelta, str]]:
    """What happens in case n after its report: a realistic mix of outcomes."""
    h = timedelta(hours=1)
    plan = [(timedelta(0), "report")]
    if n % 3 == 0:
        plan.append((30 * h, "followup"))
    kind = n % 20
    if kind < 8:  # handled and closed within the week
        plan += [(20 * h, "assign"), (50 * h, "note"), ((90 + rng.randrange(40)) * h, "close")]
    elif kind < 11:  # a proposal and its votes
        plan += [(20 * h, "assign"), (70 * h, "propose"), (80 * h, "agree-bob"),
                 (85 * h, "agree-carol"), (90 * h, "agree-alice")]  # fmt: skip
    elif kind < 14:
        plan += [(20 * h, "assign"), (60 * h, "note")]
    elif kind == 14:
        plan += [(20 * h, "assign"), (100 * h, "escalate")]
    elif kind == 15:
        plan += [(10 * h, "note")]
    if kind >= 8 and old:  # older cases were all finished in the end
        plan.append(((200 + rng.randrange(300)) * h, "close"))
    return plan


COMMANDS = {
    "assign": ("alice", "#assign bob@example.org\n\nBob, can you take this one?"),
    "note": ("bob", "#note spoke with the reporter by phone; they want it kept private"),
    "close": ("alice", "#close resolved with a private word to the reported person"),
    "propose": (
        "bob",
        "#propose private-reprimand\n\n"
        "Statement: The reported person is asked to stop.\nEnd of statement",
    ),
    "agree-bob": ("bob", "#agree"),
    "agree-carol": ("carol", "#agree"),
    "agree-alice": ("alice", "#agree"),
    "escalate": ("alice", "#escalate the reported person is a council member's colleague"),
}


def _act(db, settings, loop_id, n: int, action: str, now, refs, corpus, rng) -> int:
    from archive.cases import find_case, parties_of
    from archive.ingest import ingest_message
    from archive.sending import member_party
    from intake.parse import parse_message

    mid = f"<case{n}-{action}@bench.example.net>"
    reporter = f"reporter{n}@example.net"
    if action == "report":
        sample = corpus[(n * 7) % len(corpus)]
        body = (f"{REPORT_LINES[n % len(REPORT_LINES)]}\n\nThe thread was about "
                f"{sample.subject or 'the build'}:\n\n{sample.text[:1500]}")  # fmt: skip
        raw = _raw(f"Reporter {n} <{reporter}>", settings.reports, "Code of conduct report",
                   body, mid)  # fmt: skip
        sender, to = reporter, settings.reports
    else:
        ref = refs.get(n)
        if ref is None:
            return 0
        case = find_case(db, ref)
        subject = f"Re: [{ref}] Code of conduct report"
        if action == "followup":
            party = parties_of(db, case, "reporter")[0]
            raw = _raw(f"Reporter {n} <{reporter}>", settings.reports, subject,
                       "One more thing: it happened again this morning.", mid)  # fmt: skip
            sender, to = reporter, _reply_address(settings, party.token)
        else:
            who, text = COMMANDS[action]
            email, name = next(m for m in MEMBERS if m[0].startswith(who))
            party = member_party(db, case, email, name, now)
            raw = _raw(f"{name} <{email}>", settings.reports, subject, text, mid)
            sender, to = email, _reply_address(settings, party.token)
    msg = parse_message(raw, envelope_from=sender, envelope_to=(to,), settings=settings,
                        loop_id=loop_id)  # fmt: skip
    result = ingest_message(db, msg, settings, now)
    if action == "report" and result.case_ref:
        refs[n] = result.case_ref
    return 1


def _reply_address(settings, token: str) -> str:
    local, domain = settings.reports.split("@")
    return f"{local}+{token}@{domain}"


def _close_day(db, settings, day, fire_due) -> None:
    """The day's deadlines fire; everything queued counts as sent a minute after it was due."""
    from archive.db import write_transaction
    from archive.outbox import due_mail
    from archive.sending import finish_item

    def send_all() -> None:
        with write_transaction(db):
            while items := due_mail(db, day, 1000):
                for item in items:
                    sent = min(day, _parse_time(item.queued_at) + timedelta(minutes=1))
                    finish_item(db, item, sent)

    send_all()  # the acknowledgements went out before their watchdog would fire
    fire_due(db, settings, day)
    send_all()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---------------------------------------------------------------- measuring


def measure_search(database: Path, rounds: int = 5) -> tuple[float, float, float]:
    """p50 and p95 (ms) of `search_messages` over SEARCHES, `rounds` times each (warm cache),
    opened as `casebook search` opens it; and the mean CPU time of one search."""
    from archive.db import open_reader
    from archive.search import search_messages

    db = open_reader(database)
    for query in SEARCHES:
        search_messages(db, query)
    latencies = []
    cpu = time.process_time()
    for _ in range(rounds):
        for query in SEARCHES:
            began = time.perf_counter()
            search_messages(db, query)
            latencies.append((time.perf_counter() - began) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(latencies)
    db.conn.close()
    return percentile(latencies, 50), percentile(latencies, 95), cpu_ms


def measure_digest(database: Path, config: Path, rounds: int = 3) -> float:
    """Median ms of the digest's facts plus its rendering (text and HTML), at END."""
    from archive.db import open_archive
    from archive.digest import digest_data
    from casebook.config import load_settings
    from mailer.render import make_environment, render_template

    settings = load_settings(config)
    db = open_archive(database)
    env = make_environment(settings.templates_override)
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        context = {**digest_data(db, settings, END), "committee_name": settings.committee_name}
        render_template(env, "council/digest", context)
        times.append((time.perf_counter() - began) * 1000)
    db.conn.close()
    return median(times)


def measure_cli(config: Path, args: list[str], rounds: int = 9) -> tuple[float, float]:
    """Median wall ms of the installed `casebook` running `args` (output to a pipe), and its
    mean CPU time (user + system). Python may write its bytecode, as pip does when it installs
    the wheel: a checkout run with PYTHONDONTWRITEBYTECODE would compile casebook at each start,
    which no installed casebook does. One run first, unmeasured, to warm the page cache."""
    import resource

    exe = str(Path(sys.executable).with_name("casebook"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times, cpus = [], []

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    for n in range(rounds + 1):
        cpu = children_cpu()
        began = time.perf_counter()
        done = subprocess.run([exe, "-c", str(config), *args], capture_output=True, cwd=ROOT,
                              env=env)  # fmt: skip
        if n:
            times.append((time.perf_counter() - began) * 1000)
            cpus.append((children_cpu() - cpu) * 1000)
        if done.returncode:
            raise SystemExit(f"casebook {' '.join(args)} failed: {done.stderr.decode()[:300]}")
    return median(times), sum(cpus) / len(cpus)


def measure_queries(database: Path, ref: str, rounds: int = 5) -> tuple[float, float]:
    """Median in-process ms of what `cases` and `show` query (no start-up, no printing)."""
    from archive.cases import find_case
    from archive.db import open_reader
    from archive.queries import case_detail, case_summaries

    db = open_reader(database)
    cases_ms, show_ms = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        case_summaries(db)
        cases_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        case_detail(db, find_case(db, ref))
        show_ms.append((time.perf_counter() - began) * 1000)
    db.conn.close()
    return median(cases_ms), median(show_ms)


def busiest_case(database: Path) -> str:
    db = sqlite3.connect(database)
    try:
        return db.execute(
            "SELECT c.ref FROM cases c JOIN events e ON e.case_pk = c.id GROUP BY c.id"
            " ORDER BY COUNT(*) DESC, c.id LIMIT 1"
        ).fetchone()[0]
    finally:
        db.close()


def serve_rss(database: Path, reports: int = 20, settle: float = 3.0) -> float:
    """VmRSS (MiB) of `casebook serve` on a copy of `database`, after start-up settled and
    `reports` reports went through intake and their acknowledgements to a loopback relay."""
    import smtplib

    from tests.conftest import RelaySink

    sink = RelaySink()
    sink.controller.start()
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        copy = Path(tmp) / "casebook.db"
        shutil.copyfile(database, copy)
        port = free_port()
        config = config_for(Path(tmp), copy, relay_port=sink.port, intake_port=port)
        exe = str(Path(sys.executable).with_name("casebook"))
        with open(Path(tmp) / "serve.log", "wb") as log:
            proc = subprocess.Popen([exe, "-c", str(config), "serve"], cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        try:
            wait_for_port(port, proc, timeout=60)
            time.sleep(settle)
            for n in range(reports):
                sender = f"rss{n}@bench.example.net"
                raw = _raw(sender, "conduct@example.org", "Report", REPORT_LINES[0],
                           f"<rss{n}@bench.example.net>")  # fmt: skip
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    client.sendmail(sender, ["conduct@example.org"], raw)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with sink.lock:
                    acks = sum(1 for m in sink.messages if any("rss" in r for r in m[1]))
                if acks >= reports:
                    break
                time.sleep(0.1)
            time.sleep(settle)
            return proc_status_mib(proc.pid, "VmRSS")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            sink.controller.stop()


def measure(args) -> list[Row]:
    """The scale rows of `make bench`: 100k messages / 10k cases (and 10k messages for RSS)."""
    from archive.db import open_archive

    big = ensure_archive(100_000, 10_000)
    small = ensure_archive(10_000, 1_000)
    for cached in (big, small):  # brought to this schema, as `serve` would (the readers refuse)
        open_archive(cached).conn.close()
    print("scale: search, digest, cases, show and serve memory ...", flush=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        config = config_for(Path(tmp), big)
        search_p50, search_p95, search_cpu = measure_search(big)
        digest_ms = measure_digest(big, config)
        ref = busiest_case(big)
        cases_wall, cases_cpu = measure_cli(config, ["cases"])
        show_wall, show_cpu = measure_cli(config, ["show", ref])
        cases_query, show_query = measure_queries(big, ref)
    rss_small = median([serve_rss(small) for _ in range(2)])
    rss_big = median([serve_rss(big) for _ in range(2)])
    growth = (rss_big - rss_small) / rss_small
    size = "100k msgs, 10k cases"
    return [
        Row(f"search p95 ({len(SEARCHES)} queries, {size})", search_p95, "ms", target="< 20 ms",
            met=search_p95 < 20, note=f"p50 {search_p50:.1f} ms, CPU {search_cpu:.1f} ms"),
        Row(f"digest facts + render ({size})", digest_ms, "ms", target="< 1000 ms",
            met=digest_ms < 1000),
        Row(f"`casebook cases` wall, subprocess ({size})", cases_wall, "ms", target="< 100 ms",
            met=cases_wall < 100, note=f"CPU {cases_cpu:.0f} ms; query in process"
            f" {cases_query:.1f} ms"),
        Row(f"`casebook show {ref}` wall, subprocess", show_wall, "ms", target="< 100 ms",
            met=show_wall < 100, note=f"CPU {show_cpu:.0f} ms; query in process"
            f" {show_query:.1f} ms"),
        Row("serve RSS, 100k-message archive", rss_big, "MiB", target="±10 % of 10k",
            met=abs(growth) <= 0.10, baseline="10k-message archive", baseline_value=rss_small,
            ratio=f"{100 * growth:+.1f} %"),
    ]  # fmt: skip


def main() -> None:
    import logging

    logging.getLogger("mailparser").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description="build the scale archives and measure them")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    if args.build_only:
        print(ensure_archive(args.messages, args.cases))
        return
    from bench.table import markdown

    print(markdown(measure(args)))


if __name__ == "__main__":
    main()
