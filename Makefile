# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint docs bench bench-scale fuzz clean test-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# `make run PORT=9025` (or PORT in the environment): intake on PORT, the sink on PORT+1, the
# web form on PORT+2, from a copy of the example in var/ (its paths made absolute).
run: $(STAMP)
ifeq ($(strip $(PORT)),)
	$(VENV)/bin/casebook -c config/casebook.example.toml serve --with-sink
else
	@mkdir -p var
	sed -e 's|"\.\./var/|"$(CURDIR)/var/|' \
	    -e 's|^port = 8025 |port = $(PORT) |' \
	    -e 's|^port = 2525 |port = $(shell expr $(PORT) + 1) |' \
	    -e 's|^port = 8080 |port = $(shell expr $(PORT) + 2) |' \
	    config/casebook.example.toml > var/run-$(PORT).toml
	$(VENV)/bin/casebook -c var/run-$(PORT).toml serve --with-sink
endif

# The generated parts of docs/ (configuration keys, command keywords, the mail catalogue).
docs: $(STAMP)
	$(VENV)/bin/python -m casebook.docsgen

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The IMAP tests use a real Dovecot, the MTA tests a private Postfix instance and the digest's
# rendering test and the web form's browser test a headless Chromium (driven through Debian's
# chromium-driver), all from Debian's packages; without root and apt-get they skip and say why. Postfix is preseeded to
# "No configuration", so installing it starts no system mail server on port 25.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
test-deps:
	@command -v dovecot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing dovecot-imapd for the IMAP tests"; \
	    (apt-get update -qq && $(APT_INSTALL) dovecot-imapd) >/dev/null 2>&1 \
	      || echo "dovecot could not be installed: IMAP tests skip"; \
	  else echo "no dovecot and no root apt-get: the IMAP tests will be skipped"; fi; }
	@test -x /usr/sbin/postfix || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postfix (no configuration) for the MTA tests"; \
	    (echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \
	      && apt-get update -qq && $(APT_INSTALL) --no-install-recommends postfix) >/dev/null 2>&1 \
	      || echo "postfix could not be installed: the Postfix tests skip"; \
	  else echo "no postfix and no root apt-get: the Postfix tests will be skipped"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the digest's rendering test"; \
	    (apt-get update -qq && $(APT_INSTALL) chromium) >/dev/null 2>&1 \
	      || echo "chromium could not be installed: the digest rendering test skips"; \
	  else echo "no chromium and no root apt-get: the digest rendering test will be skipped"; fi; }

	@test -x /usr/bin/chromedriver || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium-driver for the web form's browser test"; \
	    (apt-get update -qq && $(APT_INSTALL) chromium-driver) >/dev/null 2>&1 \
	      || echo "chromium-driver could not be installed: the web form's browser test skips"; \
	  else echo "no chromedriver and no root apt-get: the web form's browser test will be skipped"; fi; }

test: lint test-deps
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py

bench-scale: $(STAMP)
	$(VENV)/bin/python bench/run.py --scale-only

# The fuzz harness, single process, for FUZZ_SECONDS; crashing inputs land in var/fuzz/.
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(VENV)/bin/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS) --out var/fuzz

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
