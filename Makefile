# hsm-backup-audit: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export NODE_NO_WARNINGS := 1
export NPM_CONFIG_UPDATE_NOTIFIER := false
# Node.js 22 (LTS), pinned in package.json and installed by `npm ci` into node_modules, runs
# the CDK CLI and the jsii runtime of aws-cdk-lib (JSII_NODE), whatever `node` the PATH has.
NODE := $(CURDIR)/node_modules/.bin/node
export JSII_NODE := $(NODE)
CDK := $(NODE) node_modules/.bin/cdk --no-notices --no-version-reporting

.PHONY: install demo invoke-local test lint unit synth cfn-lint variants bench deploy bootstrap destroy clean

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

unit: install $(NPM_STAMP)
	$(BIN)/pytest -q

test: lint unit cfn-lint variants

# CDK: offline, no AWS credentials needed to synth. Settings (docs/settings.md) go on make's
# command line, one word each, quoted for your shell as any argument is:
#   make deploy notificationEmails=ops@example.com schedule='cron(0 6 * * ? *)'
# Each becomes one `-c 'key=value'` of the CDK CLI, single-quoted again here, so spaces,
# parentheses, `*` and `?` reach the app exactly as typed. The keys are cdk.json's context
# keys; a lower-case name that is not one stops make (a typo is never dropped in silence).
# CDK_ARGS adds other CDK CLI options as they are, e.g. CDK_ARGS="--require-approval never".
# Read from cdk.json once, and only when a recipe needs them.
SETTING_KEYS = $(eval SETTING_KEYS := $(shell $(PYTHON) -c \
  'import json; print(*json.load(open("cdk.json"))["context"])'))$(SETTING_KEYS)
LOWER := a b c d e f g h i j k l m n o p q r s t u v w x y z
COMMAND_LINE_NAMES = $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
GIVEN_SETTINGS = $(filter $(addsuffix %,$(LOWER)),$(COMMAND_LINE_NAMES))
UNKNOWN_SETTINGS = $(filter-out $(SETTING_KEYS),$(GIVEN_SETTINGS))
shell_quote = '$(subst ','\'',$(1))'
SETTINGS_ARGS = $(if $(UNKNOWN_SETTINGS),$(error unknown setting(s): $(UNKNOWN_SETTINGS) \
  (the settings are cdk.json's context keys: docs/settings.md)),$(foreach k,$(GIVEN_SETTINGS),\
  -c $(call shell_quote,$(k)=$(value $(k)))))
# Two lines the CLI always prints are dropped (no option turns them off, aws-cdk-cli#913):
# "Supply a stack id" (--quiet names no stack) and the unconfigured feature-flags count.
CDK_NOISE := -e '^Supply a stack id' -e 'feature flags are not configured'
synth: install $(NPM_STAMP)
	set -o pipefail; $(CDK) synth --quiet $(SETTINGS_ARGS) $(CDK_ARGS) 2>&1 | { grep -v $(CDK_NOISE) || true; }

cfn-lint: synth
	$(BIN)/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

# Every deploy variant CI checks (infra/variants.py: default, every option on, organization,
# organization units from a delegated administrator, 1,000 member accounts fanned out),
# each synthesized with cdk-nag into its own directory, then cfn-lint on every template.
VARIANTS_OUT := cdk.out.variants
variants: install $(NPM_STAMP)
	rm -rf $(VARIANTS_OUT)
	$(BIN)/python -m infra.variants $(VARIANTS_OUT)
	$(BIN)/cfn-lint --non-zero-exit-code error $(VARIANTS_OUT)/*/*.template.json

# The stack deployed or destroyed: the audit unless named, e.g. STACK=HsmBackupAuditMemberRole.
STACK ?= HsmBackupAudit
deploy: install $(NPM_STAMP)
	$(CDK) deploy $(STACK) $(SETTINGS_ARGS) $(CDK_ARGS)

# Once per account and region, before the first deploy there (`cdk bootstrap`).
bootstrap: install $(NPM_STAMP)
	$(CDK) bootstrap $(SETTINGS_ARGS) $(CDK_ARGS)

# Deletes the stack; the report bucket, the topic's KMS key and the log groups are kept
# (docs/deploy.md, "Tearing it down").
destroy: install $(NPM_STAMP)
	$(CDK) destroy $(STACK) $(SETTINGS_ARGS) $(CDK_ARGS)

# A benchmark, not a test: prints its figures and PASS/FAIL per target (docs/scale.md).
# e.g. make bench BENCH_ARGS="--latency 0.15"
bench: install
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules cdk.out $(VARIANTS_OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
