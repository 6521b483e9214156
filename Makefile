# The front door: `make run` (the demo) and `make test` (the whole suite) work from a fresh
# clone on Debian with Python 3.11; each builds what it needs by itself.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-stamp
BUILT  := $(VENV)/.built-stamp
OUT    := out
# C compilers side by side in `make build`
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# command:Debian package, for the real peers the tests talk to (chromium: the browser the
# ledger statement is opened in)
SYSDEPS := mbpoll:mbpoll mosquitto:mosquitto mosquitto_pub:mosquitto-clients openssl:openssl \
           chromium:chromium


.PHONY: run sim assess-demo test test-compiled test-pure bench hil lint clean venv build sysdeps ha-check

venv: $(STAMP)
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "v2h needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=23" "setuptools>=68" "Cython>=3.1,<3.4" wheel
	# the extension is built in place by `make build`; the editable install only links the tree
	V2H_NO_EXTENSIONS=1 $(PIP) install -q -e ".[test,lint]" --no-build-isolation
	@touch $@

build: $(BUILT)
$(BUILT): $(STAMP) setup.py $(wildcard fast/_*.py fast/_*.pxd)
	$(PY) setup.py -q build_ext --inplace -j $(BUILD_JOBS)
	@touch $@

# the live demo: the bench's emulators and the controller over Modbus TCP, a line a second
run: $(BUILT)
	$(VENV)/bin/v2h demo

# the day simulated with three policies side by side, and a chart of it
sim: $(BUILT)
	$(VENV)/bin/v2h simulate --scenario standard-day --policy all --chart $(OUT)/standard-day.png

# `v2h assess` on the shipped example household (a measured year's load, CC BY 4.0): a year
# at 1 s per option, on both cores (the price plan's pass in a second process); it opens
# nothing and prints where the report is
assess-demo: $(BUILT)
	$(VENV)/bin/v2h assess controller/assess/example --workers 2 --out $(OUT)/assess

# Debian packages the tests use as real peers (mbpoll: a Modbus master sharing no code with
# pymodbus; Mosquitto: the broker; openssl: the TLS test's certificates). Installed with
# apt-get when missing and we are root; else we say how.
sysdeps:
	@missing=""; for cp in $(SYSDEPS); do c=$${cp%%:*}; p=$${cp##*:}; \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $$c >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	  else \
	    echo "v2h: the tests need$$missing; install with: sudo apt-get install$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi

# lint first: ruff and mypy take about 6 s cold, under 1 s with their caches
test: sysdeps lint test-compiled test-pure

# --durations: the slowest tests printed at the end of each pass, so a CI log shows where
# its minutes went (the 20-minute budget)
test-compiled: $(BUILT)
	$(PY) -m pytest -q tests -m "not slow" --durations=25

# the pure-Python core: every test of the core and the simulator, and the real-time tests
# whose outcome rests on the step in the loop (`loop`: the quick HIL set, the live plan, the
# demo). The other real-time tests (protocols, emulators, broker, TLS, ledger crash: `hil`
# without `loop`) exercise no code that differs between the two cores and run once, above:
# twice they would take CI past 15 minutes.
# tests/assess runs once, above: the assessment calls the core's batch runner and the home
# battery, whose pure and compiled paths the parity tests compare inside one run
# (tests/unit/test_parity.py, tests/assess/test_battery.py); a year-like horizon in pure
# Python would cost minutes for nothing new.
# `once` marks the simulator tests whose subject is Python outside the core (a table's or a
# JSON's format, the CLI, where the plan places a residual, another charger's driver): the
# same code on both passes; and the tests that load both cores themselves (the parity tests,
# the step's properties over both): the same work whichever core the pass runs.
test-pure: $(BUILT)
	V2H_NO_EXTENSIONS=1 $(PY) -m pytest -q tests -m "not slow and not once and (not hil or loop)" \
	  --ignore=tests/assess --durations=25

bench: $(BUILT) sysdeps
	$(PY) -m bench

# every HIL scenario in real time, against `v2h run` as its own process, with each of the five
# Modbus chargers (issue #13: the whole matrix), and the safety set with the OCPP 2.1 station
# (issue #14: its dead-man is each profile's expiry). A check that cannot apply to a charger
# (its public map has no such thing) prints n/a with the reason. The runs are light (a bench
# and a controller: about 6 % of a core each) and mostly wait on the plant's real time, so
# they run HIL_JOBS side by side, the longest first (a 210-s run started last would set the
# wall time), so the matrix (144 runs, about 11 000 s of real time) stays under 12 minutes;
# the first HIL_JOBS start two a second (their interpreters' start-up is most of a run's CPU:
# all at once they would crowd the first runs' lead-in).
HIL_CHARGERS := quasar evtec ambibox sigenergy sunspec
HIL_SAFETY   := grid-loss-quick meter-silent-quick meter-frozen meter-garbage \
                charger-lost-quick sigkill evening-limits fuse-charge load-steps
HIL_JOBS     ?= 24
hil: $(BUILT) sysdeps
	@mkdir -p $(OUT)/hil
	@{ for f in hil/scenarios/*.toml; do for c in $(HIL_CHARGERS); do echo "$$f $$c"; done; done; \
	   for s in $(HIL_SAFETY); do echo "hil/scenarios/$$s.toml ocpp21"; done; } | \
	  while read f c; do echo "$$(awk '/^duration_s/ {print $$3; exit}' $$f) $$f $$c"; done | \
	  sort -rn | cut -d' ' -f2- | awk '{print NR, $$0}' | \
	  xargs -P $(HIL_JOBS) -L 1 sh -c 'i=$$0; f=$$1; c=$$2; n=$$(basename $$f .toml); \
	  [ $$i -gt $(HIL_JOBS) ] || sleep $$(( (i - 1) / 2 )); \
	  [ $$c = quasar ] || n=$$n@$$c; \
	  $(PY) -m hil run $$f --charger $$c --json $(OUT)/hil/$$n.json --log $(OUT)/hil/$$n.log \
	  > $(OUT)/hil/$$n.out 2>&1; rc=$$?; grep -hE "^(pass|FAIL|n/a)" $(OUT)/hil/$$n.out; \
	  exit $$rc' && echo "hil: all scenarios passed"
	$(PY) -m pytest -q -m "slow and hil" tests/mqtt/test_bench_oversize.py \
	  tests/mqtt/test_bench_broker_kill.py

# a real Home Assistant as the peer of v2h's MQTT discovery (tests/mqtt/test_home_assistant.py,
# marked slow): its own venv outside the repository, Python 3.13, HA's pinned versions from
# its own package_constraints.txt (without them pip backtracks for a very long time)
HA_VENV    ?= /tmp/ha-venv
HA_VERSION ?= 2025.4.4
# the first Python 3.13 that runs (a pyenv shim may exist and fail)
HA_PYTHON  ?= $(shell for p in python3.13 /root/.pyenv/versions/3.13.*/bin/python3.13; do \
  $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && \
  { echo $$p; break; }; done)

ha-check: $(BUILT) sysdeps
	@if [ ! -x $(HA_VENV)/bin/hass ]; then \
	  set -e; [ -n "$(HA_PYTHON)" ] || { echo "ha-check needs Python 3.13 (HA_PYTHON=...)" >&2; \
	    exit 1; }; \
	  $(HA_PYTHON) -m venv $(HA_VENV); \
	  $(HA_VENV)/bin/pip install -q --upgrade pip; \
	  d=$$(mktemp -d); \
	  $(HA_VENV)/bin/pip download -q --no-deps homeassistant==$(HA_VERSION) -d $$d; \
	  $(HA_VENV)/bin/python -c "import zipfile,glob,sys; z=zipfile.ZipFile(glob.glob(sys.argv[1]+'/*.whl')[0]); open(sys.argv[1]+'/c.txt','wb').write(z.read('homeassistant/package_constraints.txt'))" $$d; \
	  $(HA_VENV)/bin/pip install -q -c $$d/c.txt $$d/homeassistant-*.whl paho-mqtt \
	    home-assistant-frontend; \
	  rm -rf $$d; \
	fi
	V2H_HA_VENV=$(HA_VENV) $(PY) -m pytest -q -s -m slow tests/mqtt/test_home_assistant.py

# ruff and mypy are pinned in pyproject.toml's `lint` extra, installed by the venv step;
# mypy's scope (strict on the tidy packages, checked on the rest) is in [tool.mypy]
lint: $(STAMP)
	$(PY) -m ruff check controller fast hil tests bench
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info fast/*.c fast/*.so fast/*.html $(OUT) .pytest_cache .hypothesis \
	  .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
