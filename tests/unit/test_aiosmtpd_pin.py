"""aiosmtpd is pinned exactly, because intake/smtp.py reads DATA through its private names
(issue 19: no library patched from outside, and where a private name cannot be avoided, the
exact version pinned and a test that fails loudly on any other)."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version

import aiosmtpd.smtp

from intake.smtp import AIOSMTPD_PRIVATE_NAMES, AIOSMTPD_VERSION, IntakeSMTP
from tests.support.base import ROOT

WHY = (f"intake/smtp.py (IntakeSMTP.smtp_DATA) uses aiosmtpd's private names "
       f"{', '.join(AIOSMTPD_PRIVATE_NAMES)}, checked against aiosmtpd {AIOSMTPD_VERSION} only: "
       "read the new version's smtp_DATA, adapt IntakeSMTP, then move the pin")  # fmt: skip


def test_aiosmtpd_is_pinned_to_the_version_whose_private_names_casebook_uses():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"aiosmtpd\b", d)]
    assert pins == [f"aiosmtpd=={AIOSMTPD_VERSION}"], f"pyproject.toml: {pins}. {WHY}"
    assert version("aiosmtpd") == AIOSMTPD_VERSION, f"aiosmtpd {version('aiosmtpd')}: {WHY}"


def test_every_private_name_casebook_uses_is_there():
    source = inspect.getsource(aiosmtpd.smtp.SMTP)  # instance attributes: where it sets them
    missing = [
        name
        for name in AIOSMTPD_PRIVATE_NAMES
        if not hasattr(aiosmtpd.smtp.SMTP, name) and f"self.{name} = " not in source
    ]
    assert missing == [], f"aiosmtpd has no {', '.join(missing)}. {WHY}"


def test_the_list_names_every_private_name_intake_smtp_uses():
    used = set(re.findall(r"self\.(_[a-z][a-z_]*)", inspect.getsource(IntakeSMTP)))
    ours = {name for name in used if name in vars(IntakeSMTP)}  # casebook's own, if any
    assert used - ours == set(AIOSMTPD_PRIVATE_NAMES), WHY
