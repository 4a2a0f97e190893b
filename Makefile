# The course's two commands are `make lab` and `make test`; both start with `make setup`.
# Every target is safe to re-run: setup only reinstalls when pyproject.toml or the lock file changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_PORT ?= 8888
# Extra arguments for pytest, e.g. `make test ARGS="-k schemas"`.
ARGS ?=
# pytest-xdist workers for `make test` (each with its own test home and stack; 0 = one process, no xdist).
WORKERS ?= 2

.PHONY: help setup system-deps lab test notebooks notebooks-sync stack-up stack-down doctor lock jvm-lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: system-deps $(STAMP)  ## venv + course dependencies + JVM artifacts + sample data (idempotent)
	@$(BIN)/zoomcamp jvm setup --quiet
	@$(BIN)/zoomcamp data sample --quiet

system-deps:  ## check (and as root on Debian/Ubuntu, install) PostgreSQL, Java, Maven and python venv
	@bash shared/system-deps.sh

$(STAMP): pyproject.toml requirements-lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zoomcamp needs Python 3.11 or newer; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --constraint requirements-lock.txt --editable ".[course,dev]"
	@touch $@

lab: setup  ## start the local stack and open JupyterLab on the course
	$(BIN)/zoomcamp stack up
	@# No display: don't try to open a browser (the URL is printed). Containers often run as root.
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=$(CURDIR) \
		$$( [ -n "$$DISPLAY$$BROWSER" ] || echo --no-browser ) $$( [ "$$(id -u)" != 0 ] || echo --allow-root ) \
		week_1_basics/01_data_and_stack.ipynb

test: setup  ## unit tests + every notebook under week_*/ (nbval), on a stack of its own
	$(BIN)/python -m pytest $(if $(filter-out 0,$(WORKERS)),--numprocesses $(WORKERS) --dist loadgroup) $(ARGS)

NOTEBOOKS := $(wildcard week_*/[0-9][0-9]_*.ipynb)

notebooks: setup  ## re-execute every notebook in place (small, clean outputs, text forms synced) before committing
	$(BIN)/python -m zoomcamp.notebooks $(NOTEBOOKS)

notebooks-sync: $(STAMP)  ## write each notebook's text form (week_*/NN_*.py) from the .ipynb, without executing
	$(BIN)/python -m zoomcamp.notebooks --sync $(NOTEBOOKS)

stack-up:  ## start the local services
	$(BIN)/zoomcamp stack up

stack-down:  ## stop the local services
	$(BIN)/zoomcamp stack down

doctor:  ## check the machine: Python, Java, PostgreSQL, disk, ports
	$(BIN)/zoomcamp doctor

lock:  ## re-resolve requirements-lock.txt after changing dependencies in pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra course --extra dev --python-version 3.11 \
		--custom-compile-command "make lock" -o requirements-lock.txt

jvm-lock:  ## re-resolve shared/jvm/jvm.lock after changing a version in shared/jvm/pom.xml
	$(BIN)/zoomcamp jvm lock

clean:  ## remove the venv (data and stack under .zoomcamp/ are kept; `zoomcamp stack down` first)
	rm -rf $(VENV)
