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
RESERVED_CONCURRENCY = 1  # two runs never overlap
# A run that raises (bad configuration, digest not published) is retried by Lambda, then
# parked in the dead-letter queue; the function's Errors alarm says so.
FUNCTION_RETRY_ATTEMPTS = 2

# The public Powertools for AWS Lambda (Python) v3 layer, referenced by ARN: no Docker
# and no download at synth. It also carries pydantic v2 and aws-xray-sdk.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-{python}-{arch}"

# Schedule delivery: EventBridge Scheduler retries a failed invocation, then parks it.
SCHEDULE_RETRY_ATTEMPTS = 3
SCHEDULE_MAX_EVENT_AGE_HOURS = 6
DLQ_RETENTION_DAYS = 14

# Alarms and dashboard.
NO_RUN_HOURS = 26  # a daily schedule plus slack: a broken schedule is noticed in a day
DASHBOARD_PERIOD_HOURS = 24

# Report bucket.
REPORT_GLACIER_AFTER_DAYS = 90

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
CTX_LOG_RETENTION_DAYS = "logRetentionDays"
CTX_MAX_WORKERS = "maxWorkers"
CTX_MEMBER_ROLE_ARNS = "memberRoleArns"
CTX_MEMBER_EXTERNAL_ID = "memberExternalId"
CTX_AUDIT_ACCOUNT_ID = "auditAccountId"
CTX_POWERTOOLS_LAYER_VERSION = "powertoolsLayerVersion"
CTX_ORGANIZATION = "organization"
CTX_MEMBER_ROLE_NAME = "memberRoleName"
CTX_ORGANIZATIONAL_UNITS = "organizationalUnits"
CTX_MEMBER_ROLE_STACK_SET = "memberRoleStackSet"
CTX_STACK_SET_TARGETS = "stackSetTargets"
CTX_STACK_SET_CALL_AS = "stackSetCallAs"
CTX_SECURITY_HUB = "securityHub"

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
    CTX_LOG_RETENTION_DAYS: 90,
    CTX_MAX_WORKERS: "",
    CTX_MEMBER_ROLE_ARNS: "",
    CTX_MEMBER_EXTERNAL_ID: "",
    CTX_AUDIT_ACCOUNT_ID: "",
    CTX_POWERTOOLS_LAYER_VERSION: 38,
    CTX_ORGANIZATION: False,
    CTX_MEMBER_ROLE_NAME: MEMBER_ROLE_NAME,
    CTX_ORGANIZATIONAL_UNITS: "",
    CTX_MEMBER_ROLE_STACK_SET: False,
    CTX_STACK_SET_TARGETS: "",
    CTX_STACK_SET_CALL_AS: "SELF",
    CTX_SECURITY_HUB: False,
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
