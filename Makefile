# The two commands a new machine needs: `make demo` and `make test`.
# Each one installs what it needs: Debian packages (via apt-get when missing),
# a virtual environment in .venv and the project with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages (checked with dpkg, installed when missing). What the kiosk needs on a
# minimal Debian 12 or Raspberry Pi OS: the GL/EGL/GBM libraries SDL2 opens at run time (for
# KMS/DRM, X11 and the offscreen renderer) and ALSA (sound), the touchscreen library, libusb
# for USB printers, and a compiler with the Python and kernel headers, because evdev builds from source (no
# prebuilt wheel for ARM boards).
KIOSK_DEBS := tzdata libmtdev1 libusb-1.0-0 libasound2 libgl1 libegl1 libgl1-mesa-dri libgbm1 \
              gcc libc6-dev python3-dev linux-libc-dev
# What the tests add: a virtual X screen and keyboard, the appliance test's Debian builder
# and container (tests/appliance/test_boot.py boots a real systemd), and FUSE for the
# power-loss filesystem (tests/reliability/powerfs.py).
TEST_DEBS  := xvfb xdotool mmdebstrap systemd-container fuse3
DEMO   := .demo
# The kiosk alone (what an appliance installs), and the kiosk with its test tools.
KIOSK_STAMP := $(VENV)/.installed-kiosk

.PHONY: test demo lint pytest clean debs install-debs i18n screenshots catalogues venv

test: lint pytest

# What README's "Installing a kiosk" runs: the venv with the kiosk and its Debian packages,
# no test tools, and the compiled catalogues.
venv: $(KIOSK_STAMP) catalogues

demo: $(STAMP) catalogues
	@rm -rf $(DEMO)
	@$(BIN)/kiosk demo init $(DEMO)
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml snapshot import $(DEMO)/patrons.csv
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml config check
	@echo
	@echo "== A morning at the station (scans from $(DEMO)/scans.txt) =="
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml run --headless --show text < $(DEMO)/scans.txt
	@echo
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml spool list
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml spool export --format koc --out $(DEMO)/offline.koc
	@echo
	@cat $(DEMO)/offline.koc
	@echo
	@echo "== Staff: the status, then a new offline period (allowed: everything was exported) =="
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml status
	@$(BIN)/kiosk --config $(DEMO)/kiosk.toml staff new-period --yes
	@echo
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "== The kiosk, full screen. Type or scan a card from $(DEMO)/scans.txt; staff PIN 2468 (hold the top-left corner 3 s); stop it with Ctrl-C here =="; \
	  $(BIN)/kiosk --config $(DEMO)/kiosk.toml run; \
	else \
	  echo "== No display here: a scripted visit to every screen, rendered offscreen, into demo-out/ =="; \
	  $(BIN)/kiosk demo screenshots demo-out; \
	fi

# The README's screenshots, regenerated from the scripted tour.
screenshots: $(STAMP) catalogues
	$(BIN)/kiosk demo screenshots docs/screenshots

lint: $(STAMP) catalogues
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

pytest: $(STAMP) catalogues
	$(BIN)/pytest

# Speed, each figure against a baseline measured in the same run: scan-to-screen latency of
# the real app offscreen (the engine alone as its baseline), against the code before the
# runtime's rework (bench/old_code.py: commit 976df83 extracted with git archive, its own
# bench/scan_to_screen.py), taking turns for 4 rounds (bench/screen_rounds.py); then the
# suite (bench/suite.py): snapshot import and lookups, scan to durable checkout, start to
# ready and memory, exports, SIP2 replay. Prints tables, writes bench/results/*.json and
# docs/PERFORMANCE.md; a few minutes. `make bench QUICK=1`: small sizes, one run each.
# Not part of `make test`.
.PHONY: bench
bench: $(STAMP) catalogues
	$(BIN)/python -m bench.screen_rounds $(if $(QUICK),--items 60 --rounds 1)
	$(BIN)/python -m bench.suite $(if $(QUICK),--quick)

# The long forms of the reliability tests (power loss, full disk, damaged files, bad input, soak),
# then docs/RELIABILITY.md from what they recorded, even when one failed. `make test` runs the
# short forms and never writes that file.
TORTURE_RECORDS := .torture/records.jsonl
.PHONY: torture
torture: $(STAMP) catalogues
	@rm -f $(TORTURE_RECORDS)
	@mkdir -p $(dir $(TORTURE_RECORDS))
	KIOSK_TORTURE=long KIOSK_TORTURE_RECORDS=$(CURDIR)/$(TORTURE_RECORDS) $(BIN)/pytest -q \
	  tests/e2e/test_crash.py tests/reliability tests/upload/test_sip2_codec.py; \
	status=$$?; \
	$(BIN)/python -m tests.reliability.report $(TORTURE_RECORDS) docs/RELIABILITY.md \
	  --exit-status $$status; \
	exit $$status

# The screen the container test cannot show: the README's install booted as a QEMU VM with a
# virtual GPU, its console saved once the kiosk is up (docs/appliance/). About ten minutes
# (software emulation); run it whenever the display stack changes. Not part of `make test`.
VM_DEBS := qemu-system-x86 e2fsprogs mmdebstrap systemd-container
.PHONY: appliance-vm
appliance-vm: $(STAMP) catalogues
	@$(MAKE) --no-print-directory DEBS="$(VM_DEBS)" install-debs
	$(BIN)/python -m tests.appliance.vm docs/appliance

debs:
	@$(MAKE) --no-print-directory DEBS="$(KIOSK_DEBS) $(TEST_DEBS)" install-debs

install-debs:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "Not a Debian system: make sure these are installed: $(DEBS) python3-venv"; exit 0; fi; \
	missing=""; \
	for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(KIOSK_STAMP): pyproject.toml
	@$(MAKE) --no-print-directory DEBS="$(KIOSK_DEBS)" install-debs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

$(STAMP): $(KIOSK_STAMP)
	@$(MAKE) --no-print-directory debs
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# The translations: compiled catalogues are built from the .po files (never committed).
MO := $(patsubst %.po,%.mo,$(wildcard kiosk/locale/*/LC_MESSAGES/kiosk.po))
%.mo: %.po | $(KIOSK_STAMP)
	@$(BIN)/pybabel -q compile -D kiosk -d kiosk/locale
catalogues: $(MO)

# After changing patron-facing strings: extract them, merge into each .po, compile.
i18n: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k n_:1,2 -k N_ --no-location --sort-output \
	  --project=offline-kiosk --copyright-holder=offline-kiosk -o kiosk/locale/kiosk.pot .
	$(BIN)/pybabel -q update -D kiosk -i kiosk/locale/kiosk.pot -d kiosk/locale --no-fuzzy-matching
	$(BIN)/pybabel compile -D kiosk -d kiosk/locale --statistics

clean:
	rm -rf $(VENV) $(DEMO) demo-out .pytest_cache .mypy_cache .ruff_cache .hypothesis
