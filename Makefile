# The course's two commands are `make lab` and `make test`; both start with `make setup`.
# Every target is safe to re-run: setup only reinstalls when pyproject.toml or the lock file changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyFlink's own environment (its pins clash with the course's: README, "Flink's own environment"), and the Jupyter
# kernel that runs Flink's notebooks in it, registered in the course's venv where JupyterLab and nbval look.
FLINK_VENV := .venv-flink
FLINK_STAMP := $(FLINK_VENV)/.installed
FLINK_KERNEL := $(VENV)/share/jupyter/kernels/zoomcamp-flink/kernel.json
LAB_PORT ?= 8888
# Python keeps its bytecode cache (__pycache__) even where the environment says not to write one (some containers set
# PYTHONDONTWRITEBYTECODE): otherwise every kernel, worker and CLI call compiles pandas, dbt, Airflow... from source
# again (pandas' import 0.5 -> 2.2 s of CPU, dbt's 3.8 -> 6.4 s), and `make test` pays it in every process.
unexport PYTHONDONTWRITEBYTECODE
# Extra arguments for pytest, e.g. `make test ARGS="-k schemas"`.
ARGS ?=
# pytest-xdist workers for `make test` (each with its own test home and stack; 0 = one process, no xdist).
WORKERS ?= 2

.PHONY: help setup system-deps flink-kernel jvm-artifacts sample-data lab update test notebooks notebooks-sync stack-up stack-down doctor lock flink-lock jvm-lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: system-deps $(STAMP)  ## venvs + course dependencies + JVM artifacts + sample data (idempotent)
	@# Once the course's venv is there, its three other parts are independent and wait on different things (the
	@# network, the disk, one core): made side by side they take ~1/3 less time on a first setup.
	@$(MAKE) --no-print-directory -j 3 flink-kernel jvm-artifacts sample-data

flink-kernel: $(FLINK_KERNEL)
	@:

jvm-artifacts: $(STAMP)
	@$(BIN)/zoomcamp jvm setup --quiet

sample-data: $(STAMP)
	@$(BIN)/zoomcamp data sample --quiet

system-deps:  ## check (and as root on Debian/Ubuntu, install) PostgreSQL, Java, Maven and python venv
	@bash shared/system-deps.sh

$(STAMP): pyproject.toml requirements-lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zoomcamp needs Python 3.11 or newer; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --constraint requirements-lock.txt --editable ".[course,dev]"
	@touch $@

$(FLINK_STAMP): requirements-flink-lock.txt pyproject.toml | $(STAMP)
	$(PYTHON) -m venv $(FLINK_VENV)
	$(BIN)/uv pip install --python $(FLINK_VENV)/bin/python --requirement requirements-flink-lock.txt
	@# The course library for its settings, stack and streaming helpers, without its dependencies: only those the
	@# Flink side uses are in requirements-flink.in (the rest would fight PyFlink's pins).
	$(BIN)/uv pip install --python $(FLINK_VENV)/bin/python --no-deps --editable .
	@touch $@

$(FLINK_KERNEL): $(FLINK_STAMP)
	$(FLINK_VENV)/bin/python -m ipykernel install --prefix $(abspath $(VENV)) --name zoomcamp-flink \
		--display-name "Python 3 (zoomcamp-flink)" >/dev/null 2>&1
	@touch $@

lab: setup  ## start the local stack and open JupyterLab on the course
	$(BIN)/zoomcamp stack up
	@# No display: don't try to open a browser (the URL is printed, and opens week 1's first notebook). Containers
	@# often run as root. The venv comes first on PATH: `zoomcamp` works in JupyterLab's terminals, as the READMEs say.
	PATH="$(CURDIR)/.venv/bin:$$PATH" VIRTUAL_ENV="$(CURDIR)/.venv" \
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/week_1_basics/01_data_and_stack.ipynb \
		$$( [ -n "$$DISPLAY$$BROWSER" ] || echo --no-browser ) $$( [ "$$(id -u)" != 0 ] || echo --allow-root ) \
		week_1_basics/01_data_and_stack.ipynb

update: $(STAMP)  ## get the course's latest version; notebooks you changed are kept as week_*/my_*.ipynb
	$(BIN)/zoomcamp update

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

flink-lock:  ## re-resolve requirements-flink-lock.txt (the Flink venv) after changing requirements-flink.in
	$(BIN)/uv pip compile requirements-flink.in --python-version 3.11 --custom-compile-command "make flink-lock" \
		-o requirements-flink-lock.txt

jvm-lock:  ## re-resolve shared/jvm/jvm.lock after changing a version in shared/jvm/pom.xml
	$(BIN)/zoomcamp jvm lock

clean:  ## remove the venvs (data and stack under .zoomcamp/ are kept; `zoomcamp stack down` first)
	rm -rf $(VENV) $(FLINK_VENV)
