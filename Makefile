# The two commands a new machine needs: `make demo` and `make test`.
# Each one installs what it needs: Debian packages (via apt-get when missing),
# a virtual environment in .venv and the project with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the kiosk and its tests need (checked with dpkg, installed when missing).
DEBS   := tzdata
DEMO   := .demo

.PHONY: test demo lint pytest clean debs

test: lint pytest

demo: $(STAMP)
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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

debs:
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
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory debs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis
