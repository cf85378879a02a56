"""A small evaluator of the resource policies in a synthesized template.

Enough of IAM's evaluation logic for the topic and key policies: an explicit Deny wins,
else any matching Allow; Principal (`*`, AWS account or ARN, Service), Action and
Resource with wildcards, and the condition operators the stack uses. Anything it does not
know (NotAction, NotPrincipal, another operator) raises, so no test passes by accident.
Intrinsic functions are resolved against one imagined deployment (ACCOUNT, REGION).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION}


@dataclass(frozen=True)
class Request:
    principal: tuple[str, str]  # ("Service", "cloudwatch.amazonaws.com") or ("AWS", arn)
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Ref and Fn::GetAtt ...Arn of the template's resources, as they would deploy."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template["Resources"]

    def ref(self, logical_id: str) -> str:
        if logical_id in PSEUDO:
            return PSEUDO[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if kind == "AWS::CloudWatch::Alarm":
            return str(self.value(self.resources[logical_id]["Properties"]["AlarmName"]))
        return logical_id

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::KMS::Key":
            return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{logical_id}"
        if kind == "AWS::CloudWatch::Alarm":
            name = self.ref(logical_id)
            return f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
        raise NotImplementedError(kind)

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn", attribute
            return self.arn(logical_id)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.value(part)) for part in parts)
        if any(key.startswith("Fn::") for key in value):
            raise NotImplementedError(value)
        return {key: self.value(item) for key, item in value.items()}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    kind, who = request.principal
    for key, values in principal.items():
        if key not in {"AWS", "Service"}:
            raise NotImplementedError(f"Principal {key}")
        for value in _listed(values):
            if key == kind and value in {"*", who}:
                return True
            # An account principal (id or :root) covers every principal of that account.
            if key == kind == "AWS" and value.removesuffix(":root").split(":")[-1] == (
                who.split(":")[4] if who.startswith("arn:") else who
            ):
                return True
    return False


def _condition_matches(condition: dict[str, Any], request: Request) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = request.context.get(key)
            if actual is None:
                return False
            options = [str(option) for option in _listed(expected)]
            if operator in {"StringEquals", "ArnEquals"}:
                ok = actual in options
            elif operator in {"StringLike", "ArnLike"}:
                ok = any(fnmatchcase(actual, option) for option in options)
            elif operator == "Bool":
                ok = actual.lower() in [option.lower() for option in options]
            else:
                raise NotImplementedError(operator)
            if not ok:
                return False
    return True


def _statement_matches(statement: dict[str, Any], request: Request) -> bool:
    unknown = {"NotAction", "NotPrincipal", "NotResource"} & set(statement)
    if unknown:
        raise NotImplementedError(unknown)
    if not _principal_matches(statement["Principal"], request):
        return False
    actions = [a.lower() for a in _listed(statement["Action"])]
    if not any(fnmatchcase(request.action.lower(), action) for action in actions):
        return False
    if not any(fnmatchcase(request.resource, r) for r in _listed(statement["Resource"])):
        return False
    return _condition_matches(statement.get("Condition", {}), request)


def allowed(policy: dict[str, Any], request: Request) -> bool:
    """IAM's rule for one resource policy: an explicit Deny wins, then any Allow."""
    matching = [s for s in _listed(policy["Statement"]) if _statement_matches(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)
