"""The dashboard and alarms, on exactly the namespace, metric names and dimensions the
function emits: they are imported from `hsm_backup_audit.constants`, never retyped."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from hsm_backup_audit import constants as fn

NAMESPACE = fn.METRICS_NAMESPACE_DEFAULT
SERVICE_DIMENSIONS = {fn.DIMENSION_SERVICE: fn.SERVICE_NAME}
RUN_PERIOD = Duration.days(1)  # one point per daily run on the dashboard
ALARM_PERIOD = Duration.hours(1)
QUEUE_ALARM_PERIOD = Duration.minutes(5)
MAXIMUM = cw.Stats.MAXIMUM
SUM = cw.Stats.SUM
# How a run is started again, in every alarm's text.
INVOKE_AGAIN = "invoke the function once"
START_AGAIN = "start the state machine once (the StateMachineArn output)"


def audit_metric(
    name: str, statistic: str, period: Duration = RUN_PERIOD, **dims: str
) -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={**SERVICE_DIMENSIONS, **dims},
        statistic=statistic,
        period=period,
    )


def search_by(dimension: str, metric_name: str) -> cw.MathExpression:
    """One line per value of `dimension` (regions and accounts are not known at synth)."""
    keys = ",".join([NAMESPACE, dimension, fn.DIMENSION_SERVICE])
    query = f'{{{keys}}} MetricName="{metric_name}" {fn.DIMENSION_SERVICE}="{fn.SERVICE_NAME}"'
    seconds = int(RUN_PERIOD.to_seconds())
    return cw.MathExpression(
        expression=f"SEARCH('{query}', '{MAXIMUM}', {seconds})", label="", period=RUN_PERIOD
    )


class Monitoring(Construct):
    """Dashboard, and the alarms that publish to the digest topic (`alarm_arns` are theirs,
    built from their names so that the topic and key policies can name them)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        missed_run_hours: int | None,
        state_machine: sfn.IStateMachine | None = None,
        steps: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        """With the fan-out (`state_machine`, `steps` = {"Plan": fn, "Batch": fn, "Merge":
        fn}) the schedule starts the state machine: each step's function gets its own
        Errors alarm, in place of the single-run function's, and every alarm text says to
        start the state machine again."""
        super().__init__(scope, construct_id)
        self._prefix = Stack.of(self).stack_name
        self._again = START_AGAIN if state_machine is not None else INVOKE_AGAIN
        self.alarm_arns: list[str] = []
        errors = (
            [self._build_step_errors_alarm(name, fn_) for name, fn_ in steps.items()]
            if steps
            else [self._build_function_errors_alarm(function)]
        )
        self.alarms = [
            self._build_noncompliant_alarm(),
            self._build_scan_errors_alarm(),
            *([self._build_no_run_alarm(missed_run_hours)] if missed_run_hours else []),
            *errors,
            self._build_dead_letter_alarm(dead_letter_queue),
        ]
        if state_machine is not None:
            self.alarms.append(self._build_fanout_failed_alarm(state_machine))
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))
        self.dashboard = self._build_dashboard(function)

    def _alarm_name(self, name: str) -> str:
        """`<stack>-<name>`, with its ARN kept for the topic and key policies."""
        alarm_name = f"{self._prefix}-{name}"
        self.alarm_arns.append(
            Stack.of(self).format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=alarm_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        )
        return alarm_name

    @property
    def dashboard_url(self) -> str:
        return (
            f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    def _above_zero_alarm(
        self,
        name: str,
        description: str,
        metric: cw.IMetric,
        missing: cw.TreatMissingData,
    ) -> cw.Alarm:
        """An alarm that fires when the metric is above zero in one period."""
        return cw.Alarm(
            self,
            f"{name}Alarm",
            alarm_name=self._alarm_name(name),
            alarm_description=description,
            metric=metric,
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=missing,
        )

    def _build_noncompliant_alarm(self) -> cw.Alarm:
        return self._above_zero_alarm(
            "NonCompliantBackups",
            "The last audit found CloudHSM backups that break the policy. Read the digest "
            "email (or the JSON report) and run the remediation command of each finding, "
            "or add an exemption with a reason and an expiry date to the policy.",
            audit_metric(fn.METRIC_NONCOMPLIANT_BACKUPS, MAXIMUM, ALARM_PERIOD),
            cw.TreatMissingData.IGNORE,  # keep the last run's verdict
        )

    def _build_scan_errors_alarm(self) -> cw.Alarm:
        return self._above_zero_alarm(
            "ScanErrors",
            "The last audit could not read everything (INCOMPLETE). The digest's Errors "
            "section names each region or account and the API error: check the function's "
            f"role, the member roles' trust and the region list, then {self._again}.",
            audit_metric(fn.METRIC_SCAN_ERRORS, SUM, ALARM_PERIOD),
            cw.TreatMissingData.IGNORE,
        )

    def _build_no_run_alarm(self, hours: int) -> cw.Alarm:
        """`hours` is the schedule's longest gap between runs plus slack (settings)."""
        return cw.Alarm(
            self,
            "NoRecentRunAlarm",
            alarm_name=self._alarm_name(f"NoRunIn{hours}Hours"),
            alarm_description=(
                f"No audit has finished in {hours} hours, longer than the schedule ever "
                "waits between runs, so nobody is told about backups. "
                "Check the schedule (EventBridge Scheduler), its dead-letter queue and the "
                f"function's logs and errors, fix the cause, then {self._again}."
            ),
            metric=audit_metric(fn.METRIC_BACKUPS_SCANNED, cw.Stats.SAMPLE_COUNT, ALARM_PERIOD),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=hours,
            datapoints_to_alarm=hours,
            treat_missing_data=cw.TreatMissingData.BREACHING,
        )

    def _build_function_errors_alarm(self, function: lambda_.IFunction) -> cw.Alarm:
        return self._above_zero_alarm(
            "FunctionErrors",
            "The audit function failed: a configuration error, or a digest or report it "
            "could not deliver. Its log group has one error line saying which; fix it, "
            "then invoke the function once. Failed runs are kept in the dead-letter queue.",
            function.metric_errors(statistic=SUM, period=ALARM_PERIOD),
            cw.TreatMissingData.NOT_BREACHING,
        )

    def _build_step_errors_alarm(self, step: str, function: lambda_.IFunction) -> cw.Alarm:
        return self._above_zero_alarm(
            f"{step}StepErrors",
            f"The fan-out's {step.lower()} step failed in at least one invocation (the state "
            "machine retries it; a batch that still fails leaves its accounts as error "
            "entries in the report). The log group has one error line saying why; fix it, "
            f"then {START_AGAIN} if the run did not finish.",
            function.metric_errors(statistic=SUM, period=ALARM_PERIOD),
            cw.TreatMissingData.NOT_BREACHING,
        )

    def _build_dead_letter_alarm(self, queue: sqs.IQueue) -> cw.Alarm:
        return self._above_zero_alarm(
            "FailedRunsInDeadLetterQueue",
            "A scheduled run could not be delivered to the function, or failed after "
            "Lambda's retries, and was parked in the schedule's dead-letter queue. Read the "
            "message (its error says why) and the function's logs, fix the cause, "
            f"{self._again}, then delete the message.",
            queue.metric_approximate_number_of_messages_visible(
                statistic=MAXIMUM, period=QUEUE_ALARM_PERIOD
            ),
            cw.TreatMissingData.NOT_BREACHING,
        )

    def _build_fanout_failed_alarm(self, state_machine: sfn.IStateMachine) -> cw.Alarm:
        """Organization mode: an execution that failed, timed out or was aborted. (A missed
        run is the NoRecentRun alarm: the merge step emits the run's metrics.)"""
        period = ALARM_PERIOD
        failed = cw.MathExpression(
            expression="failed + timedout + aborted",
            using_metrics={
                "failed": state_machine.metric_failed(statistic=SUM, period=period),
                "timedout": state_machine.metric_timed_out(statistic=SUM, period=period),
                "aborted": state_machine.metric_aborted(statistic=SUM, period=period),
            },
            label="Failed, timed-out and aborted executions",
            period=period,
        )
        return self._above_zero_alarm(
            "FanOutFailed",
            "An execution of the organization audit's state machine failed, timed out or was "
            "aborted, so no report went out for it. Open the execution in the Step Functions "
            "console (it is also in the dead-letter queue), fix the failing step, then start "
            "the state machine once.",
            failed,
            cw.TreatMissingData.NOT_BREACHING,
        )

    def _build_dashboard(self, function: lambda_.IFunction) -> cw.Dashboard:
        def graph(title: str, *metrics: cw.IMetric, width: int = 8) -> cw.GraphWidget:
            return cw.GraphWidget(title=title, left=list(metrics), width=width, height=6)

        by_rule = [
            audit_metric(fn.METRIC_FINDINGS, MAXIMUM, **{fn.DIMENSION_RULE: rule.value})
            for rule in fn.Rule
        ]
        return cw.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.days(30),
            widgets=[
                [cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=3)],
                [
                    graph(
                        "Non-compliant backups and findings",
                        audit_metric(fn.METRIC_NONCOMPLIANT_BACKUPS, MAXIMUM),
                        audit_metric(fn.METRIC_FINDINGS, MAXIMUM),
                    ),
                    graph(
                        "New and resolved findings (since the baseline)",
                        audit_metric(fn.METRIC_NEW_FINDINGS, MAXIMUM),
                        audit_metric(fn.METRIC_RESOLVED_FINDINGS, MAXIMUM),
                    ),
                    graph("Findings by rule", *by_rule),
                ],
                [
                    graph("Backups scanned", audit_metric(fn.METRIC_BACKUPS_SCANNED, MAXIMUM)),
                    graph("Scan errors", audit_metric(fn.METRIC_SCAN_ERRORS, SUM)),
                    graph(
                        "Scan duration (seconds)", audit_metric(fn.METRIC_SCAN_DURATION, MAXIMUM)
                    ),
                ],
                [
                    graph("Findings by region", search_by(fn.DIMENSION_REGION, fn.METRIC_FINDINGS)),
                    graph(
                        "Findings by account", search_by(fn.DIMENSION_ACCOUNT, fn.METRIC_FINDINGS)
                    ),
                    graph(
                        "Function invocations and errors",
                        function.metric_invocations(statistic=SUM, period=RUN_PERIOD),
                        function.metric_errors(statistic=SUM, period=RUN_PERIOD),
                    ),
                ],
            ],
        )
