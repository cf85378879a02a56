# hsm-backup-audit: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export NODE_NO_WARNINGS := 1
export NPM_CONFIG_UPDATE_NOTIFIER := false
CDK := npx --no-install cdk --no-notices --no-version-reporting

.PHONY: install demo invoke-local test lint unit synth cfn-lint variants bench deploy clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

demo: install
	$(BIN)/hsm-backup-audit demo

# The Lambda handler on this machine: a moto server with the demo fleet, a topic, a bucket.
invoke-local: install
	$(BIN)/python -m hsm_backup_audit_demo.invoke_local $(INVOKE_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint unit cfn-lint variants

# CDK: offline, no AWS credentials needed to synth. Pass context with CDK_ARGS, e.g.
# make deploy CDK_ARGS="-c notificationEmails=ops@example.com"
# Two lines the CLI always prints are dropped (no option turns them off, aws-cdk-cli#913):
# "Supply a stack id" (--quiet names no stack) and the unconfigured feature-flags count.
CDK_NOISE := -e '^Supply a stack id' -e 'feature flags are not configured'
synth: install $(NPM_STAMP)
	set -o pipefail; $(CDK) synth --quiet $(CDK_ARGS) 2>&1 | { grep -v $(CDK_NOISE) || true; }

cfn-lint: synth
	$(BIN)/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

# Every deploy variant CI checks (infra/variants.py: default, every option on, organization,
# organization units from a delegated administrator, 1,000 member accounts fanned out),
# each synthesized with cdk-nag into its own directory, then cfn-lint on every template.
VARIANTS_OUT := cdk.out.variants
variants: install
	rm -rf $(VARIANTS_OUT)
	$(BIN)/python -m infra.variants $(VARIANTS_OUT)
	$(BIN)/cfn-lint --non-zero-exit-code error $(VARIANTS_OUT)/*/*.template.json

deploy: install $(NPM_STAMP)
	$(CDK) deploy HsmBackupAudit $(CDK_ARGS)

# A benchmark, not a test: prints its figures and PASS/FAIL per target (docs/scale.md).
# e.g. make bench BENCH_ARGS="--latency 0.15"
bench: install
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules cdk.out $(VARIANTS_OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
