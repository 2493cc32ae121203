# The two commands of the README. Both install what they need on a fresh Debian machine.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
APT_PACKAGES := chromium dovecot-imapd sqlite3

.PHONY: run test install system-packages test-core test-storage bench

$(BIN)/contact-importer: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/pip install -q -e '.[test]' 2>&1 | grep -v "is ignored" || true
	@test -x $@ && touch $@

install: $(BIN)/contact-importer

# Debian packages the tests drive for real: Chromium (browser tests), Dovecot (IMAP tests), sqlite3 (bench floor).
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# make run PORT=8080 HOST=0.0.0.0 (behind TLS: see README "Security")
PORT ?= 5000
HOST ?= 127.0.0.1
run: install
	$(BIN)/contact-importer serve --host $(HOST) --port $(PORT)

test: install system-packages
	$(BIN)/python -m pytest -q

test-core: install
	$(BIN)/python -m pytest -q tests/core

bench: install system-packages
	$(BIN)/python bench/bench_customers.py --sizes 5000,100000
