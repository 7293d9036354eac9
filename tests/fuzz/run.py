"""`make fuzz`: the fuzz harness for a bounded time, single process; prints what it tried and found.

    .venv/bin/python -m tests.fuzz.run [--seconds 600] [--out var/fuzz] [--corpus 120]

Stops on time even inside a slow input (each input gets `--input-limit` seconds; one that takes
longer is itself reported). The smallest input of each distinct crash is written to `--out` as
`STAGE-HASH.eml` with a `.json` beside it (envelope, error, traceback) to turn into a fixture.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.pipeline import Crash, Harness, _where, crash_file_name, distinct
from tests.fuzz.seeds import CORPUS_MBOX, all_seeds
from tests.fuzz.strategies import FuzzInput, fuzz_inputs


class TimeUp(BaseException):
    """The run's time is over (a BaseException, so Hypothesis lets it through untouched)."""


class SlowInput(BaseException):
    """One input took longer than its limit."""


def _alarm(signum, frame):
    raise SlowInput()


def run_for(seconds: float, harness: Harness, seeds, input_limit: float, run_seed: int) -> None:
    deadline = time.monotonic() + seconds
    signal.signal(signal.SIGALRM, _alarm)

    @seed(run_seed)  # Hypothesis then does not print its own reproduction hint on TimeUp
    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_inputs(seeds))
    def explore(case: FuzzInput) -> None:
        if time.monotonic() >= deadline:
            raise TimeUp()
        signal.setitimer(signal.ITIMER_REAL, min(input_limit, max(deadline - time.monotonic(), 1)))
        try:
            harness.run(case)
        except SlowInput as exc:
            harness.crashes.append(
                Crash(
                    "slow",
                    f"SlowInput: over {input_limit}s",
                    _where(exc),
                    case.raw,
                    case.envelope_from,
                    tuple(map(str, case.recipients)),
                    case.origin,
                    "".join(traceback.format_exception(exc))[-6000:],
                )  # fmt: skip
            )
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    with contextlib.suppress(TimeUp):
        explore()


def write_crashes(groups: dict[str, list[Crash]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for items in groups.values():
        smallest = items[0]
        name = crash_file_name(smallest)
        (out / f"{name}.eml").write_bytes(smallest.raw)
        detail = {
            "signature": smallest.signature,
            "error": smallest.error,
            "count": len(items),
            "envelope_from": smallest.envelope_from,
            "envelope_to": list(smallest.envelope_to),
            "origin": smallest.origin,
            "traceback": smallest.trace,
        }
        (out / f"{name}.json").write_text(json.dumps(detail, indent=2, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 600)))
    parser.add_argument("--out", type=Path, default=Path("var/fuzz"))
    parser.add_argument("--corpus", type=int, default=120, help="linux-mips messages to sample")
    parser.add_argument("--input-limit", type=float, default=30.0, help="seconds for one input")
    parser.add_argument("--seed", type=int, default=random.randrange(2**32), help="to repeat a run")
    args = parser.parse_args(argv)
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)  # a line per odd part otherwise
    seeds = all_seeds(corpus=args.corpus)
    if not CORPUS_MBOX.exists():
        print(f"linux-mips seeds skipped: {CORPUS_MBOX} is absent")
    print(f"fuzzing {args.seconds:.0f}s from {len(seeds)} seeds, --seed {args.seed}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="casebook-fuzz-") as tmp:
        harness = Harness(Path(tmp))
        try:
            run_for(args.seconds, harness, seeds, args.input_limit, args.seed)
            counts = harness.archive_counts()
        finally:
            harness.close()
    elapsed = time.monotonic() - started
    groups = distinct(harness.crashes)
    print(f"inputs tried: {harness.tried} in {elapsed:.0f}s ({harness.tried / elapsed:.1f}/s)")
    print(f"outgoing copies rendered and composed: {harness.rendered}")
    for outcome, count in sorted(harness.outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {count:7d}  {outcome}")
    print("in the archive: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    print(f"crashes: {len(harness.crashes)} ({len(groups)} distinct)")
    for signature, items in groups.items():
        print(f"  {len(items):6d}x {signature}\n          {items[0].error}")
        print(f"          smallest: {len(items[0].raw)} bytes from {items[0].origin}")
    if groups:
        write_crashes(groups, args.out)
        print(f"smallest input of each written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
