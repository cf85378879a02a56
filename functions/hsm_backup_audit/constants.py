"""Names, limits and defaults shared by the engine, the Lambda handler and the CDK stack.

The stack imports this module too, so the dashboard and alarms can never drift
from what the function emits.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

SERVICE_NAME = "hsm-backup-audit"
# Where the project's documentation lives: Security Hub's Remediation.Recommendation.Url
# points to a rule's section of rules.md under it. The project has no public repository
# yet: this is the one place to change when it has.
DOCS_BASE_URL = "https://github.com/hsm-backup-audit/hsm-backup-audit/blob/main/docs"
SCHEMA_VERSION = 1

# DescribeBackups accepts at most 50 per page and DescribeClusters at most 25.
# botocore does not enforce these maxima, so we always ask for exactly these.
BACKUPS_PAGE_SIZE = 50
CLUSTERS_PAGE_SIZE = 25

# botocore client settings: bounded so that one hanging region cannot eat a run.
RETRY_MODE = "standard"
RETRY_MAX_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5
# A DescribeBackups page of 50 answers in well under a second; 10 s is generous and keeps
# the worst single call (8 attempts x (5 + 10) s + backoff) near 3 minutes.
READ_TIMEOUT_SECONDS = 10
# A listing that keeps answering empty pages with a fresh NextToken ends with an error.
MAX_EMPTY_PAGES_IN_A_ROW = 20
# A listing whose pages, this many in a row, hold only items it already listed ends with
# an error (one such page can happen when a backup is created mid-listing).
MAX_REPEATED_PAGES_IN_A_ROW = 3
# The command line's wall-clock bound for one run (`scan --max-seconds`): the Lambda's
# 15-minute ceiling, far beyond a healthy scan, so a CI gate can never hang.
DEFAULT_MAX_SECONDS = 900
MAX_SECONDS_LIMIT = 86400
# A timestamp further than this in the future is not believed (it cannot prove freshness).
CLOCK_SKEW_SECONDS = 300
DEFAULT_MAX_WORKERS = 16
MAX_WORKERS_LIMIT = 256
# Lambda's own quotas (1,024 file descriptors, 1,024 processes and threads) bound what a
# run may hold open, whatever the number of accounts (docs/reliability.md, "Quotas"):
# accounts are set up (AssumeRole, DescribeRegions) this many side by side,
ACCOUNT_SETUP_WORKERS = 16
# and a CloudHSM client (one account, one region) runs at most its three listings at once,
# so it never needs more connections than that. A client is closed once its listings end.
CLOUDHSM_CLIENT_CONNECTIONS = 3


class Rule(StrEnum):
    NEVER_EXPIRES = "never-expires"
    MODE = "mode"
    HSM_TYPE = "hsm-type"
    PENDING_DELETION = "pending-deletion"
    RETENTION_POLICY = "retention-policy"
    OVERDUE = "overdue"
    STALE_CLUSTER = "stale-cluster"
    UNKNOWN_STATE = "unknown-state"


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


RULE_SEVERITY: dict[Rule, Severity] = {
    Rule.NEVER_EXPIRES: Severity.HIGH,
    Rule.MODE: Severity.HIGH,
    Rule.HSM_TYPE: Severity.MEDIUM,
    Rule.PENDING_DELETION: Severity.INFO,
    Rule.RETENTION_POLICY: Severity.MEDIUM,
    Rule.OVERDUE: Severity.MEDIUM,
    Rule.STALE_CLUSTER: Severity.HIGH,
    Rule.UNKNOWN_STATE: Severity.MEDIUM,
}
# How reports list rules: most severe first, then in the order above.
RULES_IN_REPORT_ORDER: tuple[Rule, ...] = tuple(
    sorted(Rule, key=lambda rule: (-RULE_SEVERITY[rule], list(Rule).index(rule)))
)


class Status(StrEnum):
    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    INCOMPLETE = "INCOMPLETE"


class ExitCode(IntEnum):
    COMPLIANT = 0
    NON_COMPLIANT = 1
    USAGE = 2  # bad arguments, bad policy or bad configuration
    INCOMPLETE = 3
    # No verdict: the run was cut short. 128 + the signal's number, as a shell reports it.
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    OUTPUT_CLOSED = 141  # the reader went away (SIGPIPE), e.g. `| head`


STATUS_EXIT_CODE: dict[Status, ExitCode] = {
    Status.COMPLIANT: ExitCode.COMPLIANT,
    Status.NON_COMPLIANT: ExitCode.NON_COMPLIANT,
    Status.INCOMPLETE: ExitCode.INCOMPLETE,
}

# Backup states as the API documents them. Anything else is judged by every rule.
STATE_READY = "READY"
STATE_CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
STATE_DELETED = "DELETED"
STATE_PENDING_DELETION = "PENDING_DELETION"
KNOWN_BACKUP_STATES = frozenset(
    {STATE_READY, STATE_CREATE_IN_PROGRESS, STATE_DELETED, STATE_PENDING_DELETION}
)
# Clusters in these states are going away: no freshness is expected of them.
CLUSTER_STATES_BEING_DELETED = frozenset({"DELETE_IN_PROGRESS", "DELETED"})

KNOWN_MODES = ("FIPS", "NON_FIPS")

# The API's range for a cluster's BackupRetentionPolicy (Type DAYS).
RETENTION_DAYS_MIN = 7
RETENTION_DAYS_MAX = 379

# --- Metrics (CloudWatch embedded metric format) -------------------------------
METRICS_NAMESPACE_DEFAULT = "HsmBackupAudit"
METRIC_BACKUPS_SCANNED = "BackupsScanned"
METRIC_NONCOMPLIANT_BACKUPS = "NonCompliantBackups"
METRIC_FINDINGS = "Findings"
METRIC_SCAN_ERRORS = "ScanErrors"
METRIC_SCAN_DURATION = "ScanDurationSeconds"
METRIC_NEW_FINDINGS = "NewFindings"  # not in the baseline (all of them on a first run)
METRIC_RESOLVED_FINDINGS = "ResolvedFindings"  # in the baseline, seen gone this run
DIMENSION_SERVICE = "service"
DIMENSION_RULE = "Rule"
DIMENSION_REGION = "Region"
DIMENSION_ACCOUNT = "Account"
# `Findings` by `Account`: only accounts with findings, the most findings first, at most this
# many a run. Each (metric, dimensions) series is a billed custom metric, so a run's count stays
# bounded however many accounts it audits: 7 totals + one per rule + one per region + this.
METRIC_ACCOUNTS_MAX = 50

# --- Lambda environment variable keys -------------------------------------------
ENV_TOPIC_ARN = "TOPIC_ARN"
ENV_REGIONS = "REGIONS"
ENV_POLICY_FILE = "POLICY_FILE"
ENV_NOTIFY = "NOTIFY"
ENV_REPORT_BUCKET = "REPORT_BUCKET"
ENV_MEMBER_ROLE_ARNS = "MEMBER_ROLE_ARNS"
ENV_EXTERNAL_ID = "EXTERNAL_ID"
ENV_MEMBER_ACCOUNTS_FILE = "MEMBER_ACCOUNTS_FILE"
ENV_MAX_WORKERS = "MAX_WORKERS"
ENV_WEEKLY_DIGEST_DAY = "WEEKLY_DIGEST_DAY"
ENV_ORGANIZATION = "ORGANIZATION"
ENV_MEMBER_ROLE_NAME = "MEMBER_ROLE_NAME"
ENV_ORGANIZATIONAL_UNITS = "ORGANIZATIONAL_UNITS"
ENV_SECURITY_HUB = "SECURITY_HUB"
# The fan-out's batch size (ItemBatcher), on its step functions only: the merge counts the
# batches that wrote no partial report when the Distributed Map stops.
ENV_FANOUT_BATCH_SIZE = "FANOUT_BATCH_SIZE"
ENV_AUTO_FIX = "AUTO_FIX"
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"

ASSUME_ROLE_SESSION_NAME = "hsm-backup-audit"
# What `all` regions asks each account (EC2 DescribeRegions: the regions enabled for it);
# the function's role and the member role are granted it only when regions is `all`.
ENABLED_REGIONS_ACTION = "ec2:DescribeRegions"
# What STS accepts: checked up front by the command line and the Lambda configuration.
# ASCII digits only: `\d` would also match Arabic-Indic and other Unicode digits.
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"

# --- Organization mode ----------------------------------------------------------
# The role each member account deploys (infra/member_role_stack.py, or the StackSet).
DEFAULT_MEMBER_ROLE_NAME = f"{SERVICE_NAME}-member"
# What IAM accepts as a role name (a name, without a path).
ROLE_NAME_PATTERN = r"^[A-Za-z0-9_+=,.@-]{1,64}$"
# Organizations' own pattern for an organizational unit id.
ORGANIZATIONAL_UNIT_PATTERN = r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"
# ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent: at most 20.
ORGANIZATIONS_PAGE_SIZE = 20
# Only accounts in this State are audited (`Status` is retired by AWS on 2026-09-09).
ACCOUNT_STATE_ACTIVE = "ACTIVE"

# --- Lambda: notification, time budget, delivery --------------------------------
NOTIFY_ALWAYS = "always"  # a daily "all clear" shows the audit still runs
NOTIFY_FINDINGS = "findings"  # publish only when the run is not COMPLIANT
# Publish only when something is new or resolved, the status changed, the run is
# INCOMPLETE, there is no baseline, or it is the weekly full digest's day.
NOTIFY_CHANGES = "changes"
NOTIFY_CHOICES = (NOTIFY_ALWAYS, NOTIFY_FINDINGS, NOTIFY_CHANGES)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_WEEKLY_DIGEST_DAY: Final = "monday"  # UTC day of the run's time
# The CDK stack copies the validated policy into the asset under this name.
POLICY_FILE_IN_ASSET = "policy.json"
# ... and the member account ids (a JSON list), so a thousand accounts fit: the function
# assumes MEMBER_ROLE_NAME in each of them.
MEMBER_ACCOUNTS_FILE_IN_ASSET = "member-accounts.json"
# A policy is a few KB (a thousand exemptions is ~150 KB): anything bigger is not a policy.
MAX_POLICY_BYTES = 1024 * 1024
# Stop reading this long before the Lambda timeout: room to render the digest and the
# report and to deliver them (two S3 PUTs and one SNS publish, bounded in delivery.py).
TIME_RESERVE_SECONDS = 60
# SNS caps a message (body and attributes) at 256 KiB; the digest body stays under this.
DIGEST_BODY_BUDGET_BYTES = 240 * 1024
# What a person reads: the digest groups and cuts to stay under this, whatever the fleet.
DIGEST_READABLE_BYTES = 64 * 1024
# SNS Publish: "Subjects must be ... less than 100 characters long" (botocore's model).
DIGEST_SUBJECT_MAX = 99
# SNS message attributes, for subscription filter policies.
ATTRIBUTE_STATUS = "status"
ATTRIBUTE_FINDINGS = "findings"
ATTRIBUTE_SEVERITY = "severity"
ATTRIBUTE_NEW_FINDINGS = "new_findings"
ATTRIBUTE_RESOLVED_FINDINGS = "resolved_findings"
ATTRIBUTE_NEW_SEVERITY = "new_severity"  # the highest severity among the new findings
# s3://REPORT_BUCKET/reports/<account>/<YYYY>/<MM>/<DD>/<run id>.json, and
# s3://REPORT_BUCKET/reports/<account>/latest.json
REPORT_KEY_PREFIX = "reports"
# The fan-out's working files: s3://REPORT_BUCKET/fanout/<run id>/plan.json, accounts.json
# (the Distributed Map's work list) and partials/<batch>.json.
FANOUT_KEY_PREFIX = "fanout"
REPORT_LATEST_NAME = "latest.json"
# s3://REPORT_BUCKET/history/<scope key>/{baseline,last-run}.json (aws/history.py)
HISTORY_KEY_PREFIX = "history"
# s3://REPORT_BUCKET/evidence/<evidence scope>/<YYYY-MM>.html and .csv: the previous month's
# evidence page, written by the first run of each month (aws/monthly_evidence.py).
EVIDENCE_KEY_PREFIX = "evidence"

# --- Security Hub (opt-in) ------------------------------------------------------
# Findings above INFO go to each account's default product in the resource's region.
ASFF_SCHEMA_VERSION = "2018-10-08"
SECURITY_HUB_BATCH_SIZE = 100  # BatchImportFindings takes 1 to 100 findings a call
SECURITY_HUB_PAGE_SIZE = 100  # GetFindings answers at most 100 findings a page
SECURITY_HUB_MAX_WORKERS = 8  # (account, region) imports sent side by side
# Each import sends its batches one after another on its own client, closed when done.
SECURITY_HUB_CLIENT_CONNECTIONS = 1
# No Security Hub call starts with less than this left of the invocation: the report and
# the digest (inside TIME_RESERVE_SECONDS) still go out, saying what was not imported.
SECURITY_HUB_STOP_SECONDS = 30
# s3://REPORT_BUCKET/deliveries/<request id>.json: written once the digest went out, so a
# retry of the same invocation (same request id) does not publish it again.
DELIVERY_KEY_PREFIX = "deliveries"

# Input reports (a baseline, a partial report, the stored baseline): the most read of one.
MAX_REPORT_BYTES = 256 * 1024 * 1024
# --- Automatic fixes (opt-in: autoFix=never-expires) ---------------------------
# Only NeverExpires=false on the caller's own backups, after the audit; never a deletion.
AUTO_FIX_NEVER_EXPIRES = "never-expires"
# s3://REPORT_BUCKET/fixes/<run id>.jsonl: the journal of what the run changed.
FIXES_KEY_PREFIX = "fixes"
# No automatic fix starts with less than this left of the invocation.
AUTO_FIX_STOP_SECONDS = 45
