"""Builds the CDK app: the audit stack, the member-role stack (and its StackSet, when asked
for) and the cdk-nag checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App

from .audit_stack import AuditStack
from .constants import AUDIT_STACK_NAME, MEMBER_ROLE_STACK_NAME, MEMBER_ROLE_STACK_SET_STACK_NAME
from .member_role_stack import MemberRoleStack
from .member_role_stack_set import MemberRoleStackSetStack
from .nag import enable_checks
from .settings import read_settings


def create_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """Raises SettingsError or PolicyError (one line each) before any construct is built."""
    app = App(context=dict(context or {}), outdir=outdir)
    settings = read_settings(app.node)
    AuditStack(app, AUDIT_STACK_NAME, settings=settings)
    MemberRoleStack(app, MEMBER_ROLE_STACK_NAME, settings=settings)
    if settings.member_role_stack_set:
        MemberRoleStackSetStack(app, MEMBER_ROLE_STACK_SET_STACK_NAME, settings=settings)
    enable_checks(app)
    return app
