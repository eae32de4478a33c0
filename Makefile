# Two entry points for people: `make dev` runs the whole stack, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install dev test lint typecheck unit clean soak bench

# Two editable distributions: the package that is deployed (a2a-gateway, src/, with its test
# toolchain as the `dev` extra) and the development tools that never are (a2a-gateway-dev,
# tools/: the `a2a-gateway` command with `dev` and `bench`, the local stack).
$(STAMP): pyproject.toml tools/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./tools
	@touch $(STAMP)

install: $(STAMP)

dev: install
	exec $(BIN)/a2a-gateway dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck sam-validate sam-build
	$(BIN)/pytest

# Fault injection, ten times over (seeded; A2A_FAULT_SEED reproduces a run).
soak: install
	A2A_FAULT_RUNS=$${A2A_FAULT_RUNS:-10} $(BIN)/pytest tests/e2e/test_reliability.py -p no:cacheprovider -o timeout=1800

# Stream benchmark (docs/performance.md): ours vs a bare SSE floor vs the a2a-sdk peer, in
# one run. uvloop/httptools/hiredis (the `fast` extra) go to FAST_PATH, apart from .venv,
# so the same run also measures our gateway with them ("ours-fast"). BENCH_ARGS=--quick.
FAST_PATH  ?= .run/fastpath
BENCH_ARGS ?=

$(FAST_PATH)/.stamp: pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade --target $(FAST_PATH) 'uvloop>=0.19' 'httptools>=0.6' 'hiredis>=3'
	@touch $@

bench: install $(FAST_PATH)/.stamp
	$(BIN)/a2a-gateway bench --fast-path $(FAST_PATH) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .run

# --- SAM: its own venv, so aws-sam-cli's pins never touch the project's. No Docker needed:
# every function and the layer use BuildMethod: makefile (manylinux wheels for the runtime).
SAM_VENV    ?= .venv-sam
SAM         := $(SAM_VENV)/bin/sam
SAM_STAMP   := $(SAM_VENV)/.installed-stamp
LAMBDA_ARCH ?= arm64
SAM_ENV     := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}

.PHONY: sam-install sam-validate sam-build

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli>=1.150,<2'
	@touch $(SAM_STAMP)

sam-install: $(SAM_STAMP)

sam-validate: $(SAM_STAMP) install
	$(BIN)/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) validate --lint

# The layer Makefile pip-installs with the project venv's pip (PYTHON) for LAMBDA_ARCH.
sam-build: $(SAM_STAMP) install
	$(SAM_ENV) LAMBDA_ARCH=$(LAMBDA_ARCH) PYTHON=$(CURDIR)/$(BIN)/python \
		$(SAM) build --parallel --parameter-overrides Architecture=$(LAMBDA_ARCH)
	@du -sh .aws-sam/build/GatewayFunction .aws-sam/build/PushSenderFunction .aws-sam/build/SharedLayer
