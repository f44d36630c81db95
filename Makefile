# dualclass: every target installs what it needs and is safe to run again.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Wheels of the node extra, for the test that installs dualclass[node] into a
# fresh venv offline (tests run without network).
WHEELHOUSE := $(VENV)/wheelhouse/.done
SUDO  := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Services the tests start on free ports (never the machine's own instances), the
# browser the UI tests drive, and the CJK font its charts and pages need.
APT_PKGS := mosquitto redis-server chromium python3-venv iproute2 util-linux \
            coturn nginx-light prometheus fonts-noto-cjk
# Run tests in a network namespace that has only loopback when we can (root):
# nothing a test starts can reach anything but 127.0.0.1.
NETNS := $(shell if [ "$$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then echo "unshare --net"; fi)

.PHONY: setup system demo test bench lint clean stack-up stack-down

setup: system $(STAMP) $(WHEELHOUSE)

system:
	@missing=""; \
	for pkg in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@python3 -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(WHEELHOUSE): pyproject.toml $(STAMP)
	rm -rf $(VENV)/wheelhouse
	$(PY) -m pip wheel -q -w $(VENV)/wheelhouse '.[node]' 'setuptools>=77' wheel
	touch $(WHEELHOUSE)

demo: setup
	$(VENV)/bin/dualclass demo --media --duration 45 --keep

# Lint first: CI fails on style and types before spending minutes on the suite.
test: lint
	$(NETNS) $(SHELL) -c 'ip link set lo up 2>/dev/null; exec $(PY) -m pytest -q'

bench: setup
	$(PY) bench/events.py --tls
	$(PY) bench/matching.py
	$(PY) bench/relay.py
	$(PY) bench/report.py
	$(PY) bench/slides.py
	$(PY) bench/turn.py
	$(PY) bench/weaklinks.py --json bench-weaklinks.json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

stack-up: setup
	$(VENV)/bin/dualclass stack up

stack-down: setup
	$(VENV)/bin/dualclass stack down

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
