"""One scan: sets up the accounts (and an organization's members), reads every listing
side by side (listings.py) and returns the audit's report.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import boto3

from ..engine.audit import Report, Scope
from ..regions import ALL_REGIONS
from .accounts import Access, organization_role_arns, set_up_accounts
from .deadline import Deadline, never
from .listings import plan_listings, read_listings
from .scan_request import ScanRequest

__all__ = ["Deadline", "ScanRequest", "never", "scan"]


def scan(request: ScanRequest) -> Report:
    started = time.monotonic()
    session = request.session or boto3.session.Session()
    now = request.now or datetime.now(UTC)
    audit = request.audit_factory(request.policy, now)
    audit.tracks_reads = True  # only the listings that end with their last page are read
    named = [r for r in request.regions if r != ALL_REGIONS]
    access = Access(
        session=session,
        role_arns=request.role_arns,
        external_id=request.external_id,
        endpoint_url=request.endpoint_url,
        home_region=request.home_region or session.region_name or next(iter(named), None),
        limits=request.limits,
    )
    plans, setup_errors = set_up_accounts(
        access, request.regions, request.should_stop, caller=request.include_caller
    )
    skipped: dict[str, str] = {}
    if request.organization:  # then every member of the organization, side by side too
        members, listing_errors = organization_role_arns(
            access,
            plans,
            member_role_name=request.member_role_name,
            organizational_units=request.organizational_units,
            should_stop=request.should_stop,
            skipped=skipped,
        )
        more, more_errors = set_up_accounts(
            replace(access, role_arns=members), request.regions, request.should_stop, caller=False
        )
        known = {plan.account.account_id for plan in plans}
        plans += [plan for plan in more if plan.account.account_id not in known]
        setup_errors += listing_errors + more_errors
    for error in setup_errors:
        audit.add_error(error)
    for plan in plans:  # every audited account is in the breakdown, zero or not
        audit.by_account.setdefault(plan.account.account_id, 0)
    read_listings(audit, plan_listings(request, plans), request)

    account_ids = tuple(plan.account.account_id for plan in plans)
    regions = tuple(dict.fromkeys(r for plan in plans for r in plan.regions)) or tuple(named)
    scope = Scope(
        regions=regions,
        account_id=account_ids[0] if account_ids else "unknown",
        accounts=account_ids,
        include_shared=request.policy.include_shared,
        policy_source=request.policy_source,
        regions_not_enabled=tuple(
            (plan.account.account_id, plan.not_enabled) for plan in plans if plan.not_enabled
        ),
        accounts_skipped=tuple(sorted(skipped.items())),
    )
    report = audit.finish(scope)
    report.duration_seconds = time.monotonic() - started
    return report
