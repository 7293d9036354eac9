"""pytest's entry for every test: the shared fixtures live in tests/support/base.py."""

pytest_plugins = ["tests.support.base"]
