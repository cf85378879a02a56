"""Organization scale: the audit fanned out on a Step Functions Distributed Map.

plan (Lambda) -> Distributed Map over the work list in the report bucket (S3 item reader,
ItemBatcher: a batch of accounts per child execution, MaxConcurrency, a tolerated failure
percentage; each child invokes the batch Lambda, which writes a partial report) -> merge
(Lambda: merges the partials, makes every account without one an error entry, then does
what a single run does). If too many batches fail, the Map's error is caught and the merge
still runs: every account without a partial is an error entry, never silence.

The three functions run the same code asset, layer, log group and environment as the
audit function, each under a role of its own (infra/fanout_roles.py). Every step retries
throttling and Lambda's transient errors with capped exponential backoff and full jitter;
a batch gets more attempts, so a throttled batch waits for capacity and is never failed.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from hsm_backup_audit.constants import ENV_FANOUT_BATCH_SIZE, FANOUT_KEY_PREFIX

from . import constants as c
from .fanout_roles import StepRoles
from .fanout_settings import FanoutSettings
from .function import ARCHITECTURE, RUNTIME, AuditFunction, finish_function
from .nag import acknowledge, arn_resource

# The Lambda errors worth a retry in every step: AWS's recommended set ("Handle transient
# Lambda service exceptions") and throttling (TooManyRequestsException).
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


# What each batch needs of the plan's output (hsm_backup_audit.steps.RunInfo).
RUN_KEYS = ("run", "bucket", "prefix", "generated_at")


class FanOut(Construct):
    """The state machine and its three step functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        audit: AuditFunction,
        bucket: s3.IBucket,
        settings: FanoutSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self._audit = audit
        self._bucket = bucket
        self._layer = audit.powertools_layer
        # The merge counts failed batches from the batch size (hsm_backup_audit.steps).
        self._environment = {
            **audit.environment,
            ENV_FANOUT_BATCH_SIZE: str(settings.batch_size),
        }
        self.roles = StepRoles(self, "Roles", audit=audit, bucket=bucket)
        self.plan = self._build_function("Plan", "plan_handler", c.FANOUT_PLAN_MINUTES, 256)
        self.batch = self._build_function(
            "Batch", "batch_handler", c.FUNCTION_TIMEOUT_MINUTES, c.FUNCTION_MEMORY_MB
        )
        self.merge = self._build_function(
            "Merge", "merge_handler", c.FUNCTION_TIMEOUT_MINUTES, c.FANOUT_MERGE_MEMORY_MB
        )
        self.log_group = logs.LogGroup(self, "ExecutionLogs", retention=audit.log_group_retention)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="hsm-backup-audit: plan, batches of accounts side by side, merge",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(settings)),
            timeout=Duration.hours(c.FANOUT_TIMEOUT_HOURS),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self._scope_bucket_grants_to_the_fanout_folder()
        self._acknowledge_state_machine_role()

    @staticmethod
    def _logical_id(resource: IConstruct) -> str:
        stack = Stack.of(resource)
        cfn = resource.node.default_child
        assert isinstance(cfn, CfnResource)
        return str(stack.resolve(stack.get_logical_id(cfn)))

    def _build_function(
        self, name: str, handler: str, minutes: int, memory: int
    ) -> lambda_.Function:
        function = lambda_.Function(
            self,
            f"{name}Function",
            description=f"hsm-backup-audit fan-out: the {name.lower()} step",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{c.PACKAGE_NAME}.fanout.{handler}",
            code=self._audit.code,
            layers=[self._layer],
            role=getattr(self.roles, name.lower()),
            log_group=self._audit.log_group,
            environment=self._environment,
            timeout=Duration.minutes(minutes),
            memory_size=memory,
        )
        finish_function(function, self.roles.after[name])
        return function

    @staticmethod
    def _retry(task: tasks.LambdaInvoke, attempts: int, max_delay: int) -> None:
        task.add_retry(
            errors=LAMBDA_TRANSIENT_ERRORS,
            interval=Duration.seconds(c.STEP_RETRY_INTERVAL_SECONDS),
            max_attempts=attempts,
            backoff_rate=2,
            max_delay=Duration.seconds(max_delay),
            jitter_strategy=sfn.JitterType.FULL,
        )

    def _definition(self, settings: FanoutSettings) -> sfn.IChainable:
        plan = tasks.LambdaInvoke(
            self,
            "Plan",
            lambda_function=self.plan,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        self._retry(plan, c.STEP_RETRY_ATTEMPTS, c.STEP_RETRY_MAX_DELAY_SECONDS)
        batch = tasks.LambdaInvoke(
            self,
            "AuditBatch",
            lambda_function=self.batch,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        # Up to 12 attempts, 2 s doubling to a 120 s cap, each wait drawn from [0, cap]
        # (full jitter): about 11 minutes of waiting at the most, inside the execution's 4 h.
        self._retry(batch, c.BATCH_RETRY_ATTEMPTS, c.BATCH_RETRY_MAX_DELAY_SECONDS)
        fan_out = sfn.DistributedMap(
            self,
            "Batches",
            item_reader=sfn.S3JsonItemReader(
                bucket=self._bucket, key=sfn.JsonPath.string_at("$.work_list")
            ),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=settings.batch_size,
                # Reference paths into the Map's input (the plan's output): each child gets
                # {"Items": [...], "BatchInput": {"run", "bucket", "prefix", "generated_at"}}.
                # Step Functions resolves JSONPath values in BatchInput: aws-cdk's integration
                # test packages/@aws-cdk-testing/framework-integ/test/aws-stepfunctions/test/
                # integ.distributed-map-batch.ts runs on AWS and asserts the child receives
                # the resolved value.
                batch_input={f"{key}.$": f"$.{key}" for key in RUN_KEYS},
            ),
            max_concurrency=settings.max_concurrency,
            tolerated_failure_percentage=settings.tolerated_failure_percentage,
            result_path=sfn.JsonPath.DISCARD,
            result_writer_v2=sfn.ResultWriterV2(
                bucket=self._bucket, prefix=f"{FANOUT_KEY_PREFIX}/{c.FANOUT_MAP_RESULTS_FOLDER}"
            ),
        )
        fan_out.item_processor(batch)
        merge = tasks.LambdaInvoke(
            self,
            "Merge",
            lambda_function=self.merge,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        self._retry(merge, c.STEP_RETRY_ATTEMPTS, c.STEP_RETRY_MAX_DELAY_SECONDS)
        fan_out.add_catch(merge, errors=["States.ALL"], result_path="$.batches_error")
        return plan.next(fan_out).next(merge)

    def _scope_bucket_grants_to_the_fanout_folder(self) -> None:
        """CDK grants the item reader and the result writer the bucket's every object
        (`bucket/*`). Rewritten here to the work lists under fanout/ (GetObject) and the
        Map's results under fanout/map-results/ (PutObject and multipart), so the state
        machine can never touch reports/ or history/. Run last: every grant is in by now."""
        stack = Stack.of(self)
        default = self.state_machine.role.node.find_child("DefaultPolicy")
        assert isinstance(default, iam.Policy)
        cfn = default.node.default_child
        assert isinstance(cfn, iam.CfnPolicy)
        document = stack.resolve(default.document)
        # arn:<partition>:s3:::<bucket>/*, as CDK's Arn.format writes it
        bucket = {"Ref": self._logical_id(self._bucket)}
        everything = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", bucket, "/*"]]}
        scoped = 0
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if not any(action.startswith("s3:") for action in actions):
                continue
            folder = FANOUT_KEY_PREFIX
            if "s3:PutObject" in actions:
                folder = f"{FANOUT_KEY_PREFIX}/{c.FANOUT_MAP_RESULTS_FOLDER}"
            assert stack.resolve(statement["Resource"]) == everything, statement
            statement["Resource"] = stack.resolve(self._bucket.arn_for_objects(f"{folder}/*"))
            scoped += 1
        assert scoped == 2, "the item reader's and the result writer's grants"
        cfn.policy_document = document

    def _acknowledge_state_machine_role(self) -> None:
        machine = self.state_machine
        role = machine.role
        acknowledge(
            role,
            "IAM5",
            "Execution logging (logs:*LogDelivery, PutResourcePolicy, Describe*) and X-Ray's "
            "PutTraceSegments, PutTelemetryRecords and GetSampling* support no resource-level "
            "permissions: their resource is *.",
            "Resource::*",
        )
        acknowledge(
            role,
            "IAM5",
            "The Distributed Map reads its work list (s3:GetObject) under fanout/ of the "
            "report bucket only: fanout/<run>/accounts.json, a key the plan names at run time.",
            arn_resource(self._bucket, f"/{FANOUT_KEY_PREFIX}/*"),
        )
        acknowledge(
            role,
            "IAM5",
            "The Distributed Map writes its results (PutObject, multipart) under "
            "fanout/map-results/ of the report bucket only, one folder per execution.",
            arn_resource(self._bucket, f"/{FANOUT_KEY_PREFIX}/{c.FANOUT_MAP_RESULTS_FOLDER}/*"),
        )
        name = '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + self._logical_id(machine) + '"}]}]}'
        executions = (
            f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}"
        )
        for suffix, why in (
            (":*", "DescribeExecution and StopExecution"),
            ("/*:*", "RedriveExecution"),
        ):
            acknowledge(
                machine,
                "IAM5",
                f"The Distributed Map's {why} on this state machine's own executions and their "
                "child executions (see 'IAM policies for using Distributed Map states').",
                executions + suffix,
            )
        for function in (self.plan, self.batch, self.merge):
            acknowledge(
                role,
                "IAM5",
                "CDK's LambdaInvoke grants lambda:InvokeFunction on the step function and its "
                "versions (ARN:*); it names no other function.",
                arn_resource(function, ":*"),
            )
