"""Names, sizes and context defaults of the CDK app.

Metric names, dimensions and the function's environment-variable keys are not here:
they come from `hsm_backup_audit.constants`, the module the function itself uses.
"""

from __future__ import annotations

from pathlib import Path

from hsm_backup_audit.constants import DEFAULT_MEMBER_ROLE_NAME, SERVICE_NAME

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
PACKAGE_NAME = "hsm_backup_audit"
HANDLER = f"{PACKAGE_NAME}.handler.lambda_handler"

AUDIT_STACK_NAME = "HsmBackupAudit"
MEMBER_ROLE_STACK_NAME = "HsmBackupAuditMemberRole"
MEMBER_ROLE_STACK_SET_STACK_NAME = "HsmBackupAuditMemberRoleStackSet"

# Fixed IAM role names, so that a member account's trust can be written before the
# audit stack exists, and the function's role list can be written before the members.
AUDIT_FUNCTION_ROLE_NAME = f"{SERVICE_NAME}-function"
# The fan-out's steps that assume member roles (the batch reads, the merge imports findings
# into the members' Security Hub): member roles trust these names too.
FANOUT_BATCH_ROLE_NAME = f"{SERVICE_NAME}-batch"
FANOUT_MERGE_ROLE_NAME = f"{SERVICE_NAME}-merge"
TRUSTED_ROLE_NAMES = (AUDIT_FUNCTION_ROLE_NAME, FANOUT_BATCH_ROLE_NAME, FANOUT_MERGE_ROLE_NAME)
MEMBER_ROLE_NAME = DEFAULT_MEMBER_ROLE_NAME  # the function's default MEMBER_ROLE_NAME too

# The member-role StackSet (service-managed: Organizations deploys it to every account of
# the target units, and to accounts that join them later; never to the management account).
MEMBER_ROLE_STACK_SET_NAME = f"{SERVICE_NAME}-member-role"
STACK_SET_CALL_AS = ("SELF", "DELEGATED_ADMIN")
# Accounts deployed side by side, and how many may fail before the operation stops.
STACK_SET_MAX_CONCURRENT_PERCENTAGE = 25
STACK_SET_FAILURE_TOLERANCE_PERCENTAGE = 10

# The function. The engine stops reading TIME_RESERVE_SECONDS before this timeout.
FUNCTION_TIMEOUT_MINUTES = 15
FUNCTION_MEMORY_MB = 512
# Off by default (reservedConcurrency): AWS refuses a reservation that leaves less than the
# account's minimum unreserved, and new accounts with a quota of 10 cannot reserve any.
RESERVED_CONCURRENCY = 1  # with reservedConcurrency=true, two runs never overlap
# A run that raises (bad configuration, digest not published) is retried by Lambda, then
# parked in the dead-letter queue; the function's Errors alarm says so.
FUNCTION_RETRY_ATTEMPTS = 2

# The public Powertools for AWS Lambda (Python) v3 layer, referenced by ARN: no Docker
# and no download at synth. It also carries pydantic v2 and aws-xray-sdk.
# Its publisher account, per partition (Powertools docs, "Lambda Layer"). GovCloud (a
# publisher account per region) and China (cn-north-1 only) are not mapped: a deploy
# there stops on the missing mapping key before any resource is created.
POWERTOOLS_LAYER_ACCOUNTS = {"aws": "017000801446"}
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-{python}-{arch}"
# The layer version pinned by default, and the Powertools release it is taken to carry:
# tests check that pyproject.toml pins the same release, so the two move together.
POWERTOOLS_LAYER_VERSION = 38
POWERTOOLS_VERSION = "3.37.0"

# The fan-out (organization mode): plan, a Distributed Map of batches, merge.
FANOUT_PLAN_MINUTES = 5
FANOUT_MERGE_MEMORY_MB = 1024  # merging 1,000 partials of 100,000 findings peaks near 200 MB
FANOUT_TIMEOUT_HOURS = 4  # the whole execution; each batch stops reading at 15 minutes
# Accounts in one batch: each costs about 1 s of start-up and 3 calls a region (docs/scale.md).
FANOUT_BATCH_SIZE_MAX = 200
# Batches at once (MaxConcurrency) must fit the account's Lambda concurrency quota
# (lambdaConcurrencyQuota, default 10: "New AWS accounts have reduced concurrency and memory
# quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; new
# accounts have been seen at 10), less this headroom for the account's other functions.
# A batch throttled all the same is retried (Lambda.TooManyRequestsException), never failed.
FANOUT_CONCURRENCY_HEADROOM = 2
LAMBDA_CONCURRENCY_QUOTA_DEFAULT = 10
# Retries of the steps' Lambda invocations: every step retries throttling and Lambda's
# transient errors with exponential backoff, capped, with full jitter (so throttled
# batches do not come back in step). A batch gets more attempts: a throttled batch waits
# for capacity rather than fail.
STEP_RETRY_INTERVAL_SECONDS = 2
STEP_RETRY_MAX_DELAY_SECONDS = 60
STEP_RETRY_ATTEMPTS = 6
BATCH_RETRY_ATTEMPTS = 12
BATCH_RETRY_MAX_DELAY_SECONDS = 120
# The one-Lambda ceiling (docs/scale.md, "What fits in one 15-minute Lambda"): about 1 s of
# set-up an account and 3 calls a region at 44 calls/s of CPU, within 840 s of reading.
# A single-run deploy estimated past it gets a synth warning naming the fan-out.
ONE_LAMBDA_READING_SECONDS = 840
ONE_LAMBDA_SECONDS_PER_ACCOUNT = 1.0
ONE_LAMBDA_CALLS_PER_SECOND = 44
CALLS_PER_REGION = 3
# CDK feature flags the app always sets: the Distributed Map's ResultWriterV2.
FEATURE_FLAGS = {"@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2": True}
# Execution statuses that alarm and are parked in the dead-letter queue.
FANOUT_FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")

# Schedule delivery: EventBridge Scheduler retries a failed invocation, then parks it.
SCHEDULE_RETRY_ATTEMPTS = 3
SCHEDULE_MAX_EVENT_AGE_HOURS = 6
DLQ_RETENTION_DAYS = 14

# Alarms and dashboard. The missed-run alarm's window is the longest gap between two
# scheduled runs plus this slack (a late or slow run is not a missed one).
MISSED_RUN_SLACK_HOURS = 2
# CloudWatch evaluates an alarm over at most 7 days (Period x EvaluationPeriods <= 604,800 s
# for periods of an hour or more): a schedule with longer gaps gets no missed-run alarm.
MISSED_RUN_MAX_HOURS = 7 * 24
DASHBOARD_PERIOD_HOURS = 24

# Size limits checked at synth (IAM and Lambda quotas). IAM counts no whitespace.
ROLE_INLINE_POLICIES_MAX_CHARS = 10_240  # aggregate of a role's inline policies
MANAGED_POLICY_MAX_CHARS = 6_144
LAMBDA_ENVIRONMENT_MAX_BYTES = 4 * 1024  # every key and value together
KMS_KEY_POLICY_MAX_BYTES = 32 * 1024
# Lambda quotas: a .zip package uploaded directly is at most 50 MB; the function's code and
# its layers, extracted, at most 250 MB. The Powertools layer is counted at a generous size.
LAMBDA_ZIPPED_MAX_BYTES = 50 * 1024 * 1024
LAMBDA_UNZIPPED_MAX_BYTES = 250 * 1024 * 1024
POWERTOOLS_LAYER_ALLOWANCE_BYTES = 100 * 1024 * 1024
# Pure-Python distributions the function ships in its asset (the Powertools layer has not
# them): the evidence page's template engine. Copied from the venv at their pinned versions.
VENDORED_DISTRIBUTIONS = ("jinja2", "markupsafe")

# Report bucket.
REPORT_GLACIER_AFTER_DAYS = 90
# Everything else the bucket holds expires (it is versioned: old versions too).
# The fan-out's working files (work list, plan, partials) and the Distributed Map's results:
# a failed execution can be redriven within 14 days of its end (Step Functions' redrive
# window), after which nothing reads them.
FANOUT_EXPIRATION_DAYS = 14
FANOUT_MAP_RESULTS_FOLDER = "map-results"  # under fanout/: the Map's ResultWriter
# Delivery markers stop a retried invocation publishing its digest twice; Lambda retries an
# asynchronous invocation for at most 6 hours, the schedule for SCHEDULE_MAX_EVENT_AGE_HOURS.
DELIVERY_EXPIRATION_DAYS = 30
NONCURRENT_WORKING_FILES_DAYS = 1  # an overwritten or deleted working file, kept a day
INCOMPLETE_UPLOAD_DAYS = 1  # any multipart upload left unfinished, aborted bucket-wide

# Context keys, each documented in the README with its default (cdk.json has them too).
CTX_NOTIFICATION_EMAILS = "notificationEmails"
CTX_SCHEDULE = "schedule"
CTX_SCHEDULE_TIMEZONE = "scheduleTimezone"
CTX_REGIONS = "regions"
CTX_POLICY_FILE = "policyFile"
CTX_NOTIFY = "notify"
CTX_WEEKLY_DIGEST_DAY = "weeklyDigestDay"
CTX_REPORT_BUCKET = "reportBucket"
CTX_REPORT_EXPIRATION_DAYS = "reportExpirationDays"
CTX_REPORT_OBJECT_LOCK_DAYS = "reportObjectLockDays"
CTX_LOG_RETENTION_DAYS = "logRetentionDays"
CTX_MAX_WORKERS = "maxWorkers"
CTX_MEMBER_ACCOUNTS = "memberAccounts"
CTX_MEMBER_ROLE_NAME = "memberRoleName"
CTX_ORGANIZATION_ID = "organizationId"
CTX_RESERVED_CONCURRENCY = "reservedConcurrency"
CTX_MISSED_RUN_ALARM_HOURS = "missedRunAlarmHours"
# Replaced by memberAccounts and memberRoleName: refused with a line that says so.
CTX_REPLACED = {"memberRoleArns": "memberAccounts (account ids) and memberRoleName"}
CTX_MEMBER_EXTERNAL_ID = "memberExternalId"
CTX_AUDIT_ACCOUNT_ID = "auditAccountId"
CTX_POWERTOOLS_LAYER_VERSION = "powertoolsLayerVersion"
CTX_FANOUT_BATCH_SIZE = "fanoutBatchSize"
CTX_FANOUT_MAX_CONCURRENCY = "fanoutMaxConcurrency"
CTX_FANOUT_TOLERATED_FAILURE = "fanoutToleratedFailurePercentage"
CTX_ORGANIZATION = "organization"
CTX_ORGANIZATIONAL_UNITS = "organizationalUnits"
CTX_MEMBER_ROLE_STACK_SET = "memberRoleStackSet"
CTX_STACK_SET_TARGETS = "stackSetTargets"
CTX_STACK_SET_CALL_AS = "stackSetCallAs"
CTX_SECURITY_HUB = "securityHub"
CTX_FAN_OUT = "fanOut"
CTX_LAMBDA_CONCURRENCY_QUOTA = "lambdaConcurrencyQuota"
CTX_AUTO_FIX = "autoFix"

CONTEXT_DEFAULTS: dict[str, str | bool | int] = {
    CTX_NOTIFICATION_EMAILS: "",
    CTX_SCHEDULE: "cron(0 7 * * ? *)",
    CTX_SCHEDULE_TIMEZONE: "UTC",
    CTX_REGIONS: "",
    CTX_POLICY_FILE: "policy.json",
    CTX_NOTIFY: "always",
    CTX_WEEKLY_DIGEST_DAY: "monday",
    CTX_REPORT_BUCKET: True,
    CTX_REPORT_EXPIRATION_DAYS: 730,
    CTX_REPORT_OBJECT_LOCK_DAYS: "",
    CTX_LOG_RETENTION_DAYS: 90,
    CTX_MAX_WORKERS: "",
    CTX_MEMBER_ACCOUNTS: "",
    CTX_MEMBER_ROLE_NAME: MEMBER_ROLE_NAME,
    CTX_ORGANIZATION_ID: "",
    CTX_RESERVED_CONCURRENCY: False,
    CTX_MISSED_RUN_ALARM_HOURS: "",
    CTX_MEMBER_EXTERNAL_ID: "",
    CTX_AUDIT_ACCOUNT_ID: "",
    CTX_POWERTOOLS_LAYER_VERSION: POWERTOOLS_LAYER_VERSION,
    CTX_FANOUT_BATCH_SIZE: 10,
    CTX_FANOUT_MAX_CONCURRENCY: LAMBDA_CONCURRENCY_QUOTA_DEFAULT - FANOUT_CONCURRENCY_HEADROOM,
    CTX_FANOUT_TOLERATED_FAILURE: 10,
    CTX_ORGANIZATION: False,
    CTX_ORGANIZATIONAL_UNITS: "",
    CTX_MEMBER_ROLE_STACK_SET: False,
    CTX_STACK_SET_TARGETS: "",
    CTX_STACK_SET_CALL_AS: "SELF",
    CTX_SECURITY_HUB: False,
    CTX_FAN_OUT: False,
    CTX_LAMBDA_CONCURRENCY_QUOTA: LAMBDA_CONCURRENCY_QUOTA_DEFAULT,
    CTX_AUTO_FIX: "never",
}

# The retention periods CloudWatch Logs accepts, by their aws_logs.RetentionDays name.
LOG_RETENTION_NAMES = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
