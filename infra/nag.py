"""cdk-nag (v3): the AwsSolutions pack at synth, and acknowledgements that carry a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def enable_checks(app: App) -> None:
    """Any finding that is not acknowledged fails the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str, finding: str = "") -> None:
    """Acknowledge one rule (for example "S1") on a construct, for a written reason.

    `finding` narrows it to one finding of that rule (for IAM5 always give one, e.g.
    "Resource::*", so that a new wildcard is still a failure).
    """
    suffix = f"[{finding}]" if finding else ""
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"{PACK}::{PACK}-{rule}{suffix}", reason=reason)
    )


def arn_resource(resource: IConstruct, suffix: str) -> str:
    """The IAM5 finding for a resource ARN with a suffix, e.g. `Resource::<Fn1234.Arn>:*`."""
    stack = Stack.of(resource)
    cfn = resource.node.default_child
    assert isinstance(cfn, CfnResource)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    return f"Resource::<{logical_id}.Arn>{suffix}"
