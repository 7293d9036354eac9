"""`make bench` runs on a quiet machine, rarely: its modules must at least import with today's
tests and product (a helper moved in tests/support once broke every bench row)."""

from __future__ import annotations

import importlib

import pytest

from tests.support.base import ROOT

MODULES = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", MODULES)
def test_every_bench_module_imports(name):
    importlib.import_module(f"bench.{name}")
