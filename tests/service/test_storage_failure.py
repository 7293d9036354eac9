"""When storage fails: intake answers 451 (retry) if the spool cannot take a message; a full
archive disk is logged once as what it is, the mail waits in the spool and goes on after."""

from __future__ import annotations

import errno
import shutil
import smtplib
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from intake.smtp import IntakeHandler
from intake.spool import SpoolWriter, open_spool, spool_path
from tests.support.base import RelaySink, fixture_bytes, free_port, write_config
from tests.support.helpers import INSTALLED_CASEBOOK, smtp_send
from tests.support.serving import LoggedServe


def test_locked_archive_gets_451_and_the_sender_can_retry(settings):
    spool = SpoolWriter(spool_path(settings))
    spool.start()
    spool.conn.execute("PRAGMA busy_timeout = 50")
    controller = Controller(IntakeHandler(settings, spool), hostname="127.0.0.1", port=free_port())
    controller.start()
    blocker = open_spool(spool_path(settings))
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock too long
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp_send(controller.port, fixture_bytes("plain_report.eml"), "rita@example.net",
                      ["conduct@example.org"])  # fmt: skip
        assert refused.value.smtp_code == 451
        blocker.execute("ROLLBACK")
        assert smtp_send(controller.port, fixture_bytes("plain_report.eml"), "rita@example.net",
                         ["conduct@example.org"]) == {}  # fmt: skip
        count = blocker.execute("SELECT COUNT(*) FROM spooled").fetchone()[0]
        assert count == 1
    finally:
        controller.stop()
        spool.stop()
        blocker.close()


def can_mount_tmpfs() -> bool:
    """Whether this machine lets the test give `casebook serve` a small disk of its own (a
    tmpfs in a private mount namespace, unprivileged through a user namespace)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


class SmallDiskServe(LoggedServe):
    """`casebook serve` whose archive lies on a 4 MB tmpfs only it sees; the spool and the
    log are on the ordinary disk. The test fills and empties the small disk from outside,
    through /proc/PID/root."""

    def __init__(self, tmp_path: Path, relay, *global_args: str, spool_too: bool = False):
        self.disk = tmp_path / "disk"
        self.disk.mkdir()
        port = free_port()
        config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
        text = config.read_text().replace(str(tmp_path / "casebook.db"),
                                          str(self.disk / "casebook.db"))  # fmt: skip
        if spool_too:  # the spool on the small disk as well: intake cannot store either
            text = text.replace(str(tmp_path / "spool"), str(self.disk / "spool"))
        config.write_text(text.replace('case_prefix = "CoC"', 'case_prefix = "CoC"\n'
                                       'sweep_interval = "1s"'))  # fmt: skip
        mount = 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"'
        wrapper = ("unshare", "-rm", "sh", "-c", mount, str(self.disk))
        super().__init__(config, port, *global_args, wrapper=wrapper)

    def inside(self, name: str) -> Path:
        """A file on the small disk, as serve sees it."""
        return Path(f"/proc/{self.proc.pid}/root{self.disk}/{name}")

    def fill_disk(self) -> None:
        # Unbuffered: what a write could not place is not kept for close() to flush (and fail
        # on) once the disk is full, which depended on how full serve had left it.
        filler = open(self.inside("filler"), "wb", buffering=0)  # noqa: SIM115
        with filler, pytest.raises(OSError) as full:
            for _ in range(128):  # 8 MB at most: the disk has 4
                filler.write(b"\0" * 65536)
        assert full.value.errno == errno.ENOSPC


def report(n: int) -> bytes:
    return (
        f"From: Rita <rita{n}@example.net>\r\nTo: conduct@example.org\r\n"
        f"Subject: Report {n}\r\nMessage-ID: <full-{n}@example.net>\r\n\r\n"
        "Dave Jones called me stupid on the users list.\r\n"
    ).encode()


@pytest.mark.skipif(not can_mount_tmpfs(), reason="no unprivileged tmpfs for a small disk")
def test_a_full_archive_disk_is_told_once_truthfully_and_the_mail_waits(tmp_path, relay):
    serve = SmallDiskServe(tmp_path, relay, "-v")  # -v: the quiet retries seen at DEBUG
    try:
        smtp_send(serve.port, report(1), "rita1@example.net", ["conduct@example.org"])
        serve.wait_for("report: opened")
        serve.wait_for("committee/new_case: sent")  # its copy recorded too
        serve.fill_disk()
        for n in (2, 3):  # accepted (the spool is elsewhere), but the archive cannot take them
            assert smtp_send(serve.port, report(n), f"rita{n}@example.net",
                             ["conduct@example.org"]) == {}  # fmt: skip
        serve.wait_for("archive write failed")
        serve.wait_for("DEBUG casebook: archive write still failing: disk full", count=3)
        log = serve.log()
        assert log.count("archive write failed") == 1, log
        line = next(line for line in log.splitlines() if "archive write failed" in line)
        assert " WARNING casebook: archive write failed: disk full; " in line
        assert "message(s) wait in the spool" in line
        assert "Traceback" not in log and log.count("opened") == 1, log
        assert len(relay.messages) == 2
        serve.inside("filler").unlink()  # the operator frees space
        serve.wait_for("report: opened", count=3)
        assert serve.wait_for("archive writes again").count("archive writes again") == 1
        relay.wait_for(6)
        assert {m["To"] for m in relay.parsed()} >= {"rita2@example.net", "rita3@example.net"}
        log = serve.stop()
        assert "Traceback" not in log and log.count("archive write failed") == 1, log
    finally:
        serve.stop()


@pytest.mark.skipif(not can_mount_tmpfs(), reason="no unprivileged tmpfs for a small disk")
@pytest.mark.skipif(not can_mount_tmpfs(), reason="no unprivileged tmpfs for a small disk")
def test_a_full_spool_disk_is_a_451_logged_with_what_to_do(tmp_path, relay):
    serve = SmallDiskServe(tmp_path, relay, spool_too=True)
    try:
        serve.fill_disk()
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp_send(serve.port, report(1), "rita1@example.net", ["conduct@example.org"])
        assert refused.value.smtp_code == 451
        log = serve.wait_for("spool write failed")
        line = next(line for line in log.splitlines() if "spool write failed" in line)
        assert line.endswith(
            "(disk full: answered 451, so the senders keep the mail and retry; free space in"
            f" {serve.disk / 'spool'})"
        ), line
        assert "rita" not in log and "Traceback" not in log, log
        serve.inside("filler").unlink()
        assert smtp_send(serve.port, report(2), "rita2@example.net", ["conduct@example.org"]) == {}
    finally:
        serve.stop()


def test_ingest_and_tick_on_a_full_archive_disk_say_so_and_keep_the_mail(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(str(tmp_path / "casebook.db"),
                                                 str(disk / "casebook.db")))  # fmt: skip
    casebook = f"{INSTALLED_CASEBOOK} -c {config}"
    script = f"""
        mount -t tmpfs -o size=4m tmpfs {disk} || exit 99
        {casebook} tick || exit 98
        head -c 8m /dev/zero > {disk}/filler 2>/dev/null
        {casebook} ingest --sender rita@example.net < {tmp_path}/report.eml; echo "ingest=$?"
        {casebook} tick; echo "tick=$?"
        rm {disk}/filler
        {casebook} -v tick; echo "tick=$?"
    """
    (tmp_path / "report.eml").write_bytes(report(1))
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                          timeout=120)  # fmt: skip
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, (out, err)
    assert out.splitlines()[:2] == ["ingest=0", "tick=75"], err  # kept; try again
    # SQLite calls running out of room for its side files a "disk I/O error": the disk says why.
    full = f"cannot open the archive {disk / 'casebook.db'}: disk full (disk I/O error)"
    assert f"stored, but not processed yet (serve or tick will): {full}" in err
    assert f"casebook: {full}\n" in err
    assert "Traceback" not in err and "internal error" not in err
    assert "processed 1 message(s)" in out and out.endswith("tick=0\n"), (out, err)


class FillingRelay(RelaySink):
    """A relay sink that fills casebook's disk as it accepts the `fill_at`-th mail."""

    def __init__(self, fill_at: int):
        super().__init__()
        self.fill_at = fill_at
        self.serve: SmallDiskServe | None = None

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.fill_at and self.serve is not None:
            self.serve.fill_disk()  # before casebook hears the 250 and records the copy
        return answer


@pytest.mark.skipif(not can_mount_tmpfs(), reason="no unprivileged tmpfs for a small disk")
def test_a_copy_the_relay_took_as_the_disk_filled_goes_once_more_after(tmp_path):
    relay = FillingRelay(fill_at=2)  # the committee's notice, after the acknowledgement
    relay.controller.start()
    serve = None
    try:
        serve = relay.serve = SmallDiskServe(tmp_path, relay)
        smtp_send(serve.port, report(1), "rita1@example.net", ["conduct@example.org"])
        serve.wait_for("archive write failed: disk full")
        serve.inside("filler").unlink()
        serve.wait_for("committee/new_case: sent")
        log = serve.stop()
        assert "Traceback" not in log and "unexpected error" not in log, log
        assert log.count("archive write failed") == 1
        notices = [m for m in relay.parsed() if "New report" in str(m["Subject"])]
        assert len(notices) == 2 and len({m["Message-ID"] for m in notices}) == 1  # once more
    finally:
        if serve is not None:
            serve.stop()
        relay.controller.stop()
