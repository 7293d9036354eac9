"""What every part of the bench measures with: ports, start-up, memory, percentiles."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from tests.support.base import free_port  # the tests' own: a free port on 127.0.0.1

__all__ = ["free_port", "median", "percentile", "proc_status_mib", "wait_for_port"]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    """Until `proc` listens on 127.0.0.1:`port`; SystemExit if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def proc_status_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status (VmHWM: peak resident, VmRSS: now), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return percentile(values, 50)
