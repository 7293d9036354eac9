"""Import: `casebook import` of the linux-mips corpus against `notmuch new` on the same mail.

notmuch reads a maildir, so the mbox is split into one (casebook's own mbox reader, untimed)
in a temporary folder; only `notmuch new` is timed, on a fresh notmuch database each run.
`casebook import` runs as the operator runs it (a process, a fresh archive each run). The two
alternate, `--import-runs` times; the figures are medians, the ratio is notmuch's median wall
time over casebook's. Peak memory is the largest sum of the resident sizes of the process
and its children (the parsing workers), sampled every 20 ms.

Debian's notmuch is installed with apt-get when the bench runs as root; otherwise the row is
skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.table import Row  # noqa: E402
from tests.support.base import write_config  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "linux-mips" / "linux-mips-1996-2002.mbox"
TARGET = 2.0  # × notmuch's rate
NOTMUCH_CONFIG = """[database]
path={mail}
[user]
name=Bench
primary_email=bench@example.org
[new]
tags=inbox;
[maildir]
synchronize_flags=false
"""


def find_notmuch() -> tuple[str | None, str]:
    """The notmuch binary, installing Debian's package when root; else None and why."""
    found = shutil.which("notmuch")
    if found:
        return found, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "notmuch is not installed (apt-get install notmuch, as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "notmuch"]
    for command in (["apt-get", "update", "-qq"], install):
        if subprocess.run(command, env=env, capture_output=True, timeout=600).returncode:
            return None, "apt-get could not install notmuch"
    found = shutil.which("notmuch")
    return (found, "") if found else (None, "notmuch installed but not on PATH")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants now, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total / 1024


def timed(command: list[str], env: dict | None = None, timeout: float = 1800) -> tuple:
    """(wall seconds, peak MB of the process tree, CPU seconds of the tree) of one command,
    which must succeed. CPU time is what a busy machine does not distort."""
    began = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, status, usage = 0.0, None, None
    deadline = began + timeout
    while time.perf_counter() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.02)
    else:
        proc.kill()
        raise SystemExit(f"{command[0]} took longer than {timeout:g} s")
    seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read()
    proc.stderr.close()
    if proc.returncode:
        raise SystemExit(f"{command[0]} failed ({proc.returncode}): {err.decode()[-500:]}")
    return seconds, peak, usage.ru_utime + usage.ru_stime


def split_to_maildir(mbox: Path, folder: Path) -> int:
    from intake.importer import iter_mbox

    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    count = 0
    for count, (raw, _) in enumerate(iter_mbox(mbox), 1):
        (folder / "cur" / f"{count:06d}.bench:2,S").write_bytes(raw)
    return count


def casebook_run(tmp: Path) -> tuple:
    run = tmp / f"casebook-{time.monotonic_ns()}"
    run.mkdir()
    config = write_config(run)
    return timed([sys.executable, "-m", "casebook.cli", "-c", str(config), "import", str(CORPUS)])


def notmuch_run(notmuch: str, tmp: Path, mail: Path) -> tuple:
    shutil.rmtree(mail / ".notmuch", ignore_errors=True)
    config = tmp / "notmuch-config"
    config.write_text(NOTMUCH_CONFIG.format(mail=mail))
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    return timed([notmuch, "new", "--quiet"], env=env)


def measure(args) -> list[Row]:
    runs = getattr(args, "import_runs", 3)
    if not CORPUS.exists():
        return [Row("import, linux-mips corpus", None, "msg/s", note="no corpus beside the clone")]
    notmuch, why = find_notmuch()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        mail = tmp / "maildir"
        count = split_to_maildir(CORPUS, mail)
        ours, theirs = [], []
        for _ in range(runs):  # alternating, so both see the same machine
            ours.append(casebook_run(tmp))
            if notmuch:
                theirs.append(notmuch_run(notmuch, tmp, mail))
    wall = statistics.median(r[0] for r in ours)
    peak = max(r[1] for r in ours)
    cpu = statistics.median(r[2] for r in ours)
    rate = count / wall
    name = f"import, linux-mips corpus ({count} msgs, median of {runs})"
    if not notmuch:
        return [Row(name, rate, "msg/s", target=f"≥ {TARGET:g}× notmuch",
                    note=f"{why}; CPU {cpu:.1f} s"),
                Row("import peak memory (with workers)", peak, "MB", note=why)]  # fmt: skip
    their_wall = statistics.median(r[0] for r in theirs)
    their_peak = max(r[1] for r in theirs)
    their_cpu = statistics.median(r[2] for r in theirs)
    ratio = their_wall / wall
    return [
        Row(name, rate, "msg/s", target=f"≥ {TARGET:g}× notmuch", met=ratio >= TARGET,
            baseline="notmuch new (same mail, maildir)", baseline_value=count / their_wall,
            ratio=f"{ratio:.2f}× notmuch",
            note=f"wall {wall:.1f} s against {their_wall:.1f} s; CPU {cpu:.1f} s against"
                 f" {their_cpu:.1f} s"),
        Row("import peak memory (with workers)", peak, "MB", baseline="notmuch new",
            baseline_value=their_peak, ratio=f"{peak / their_peak:.2f}× notmuch"),
    ]  # fmt: skip


if __name__ == "__main__":
    import argparse

    from bench.table import markdown

    parser = argparse.ArgumentParser(description="casebook import vs notmuch new")
    parser.add_argument("--import-runs", type=int, default=3)
    print(markdown(measure(parser.parse_args())))
