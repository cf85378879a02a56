"""Backups shared across accounts, on moto.

moto ignores DescribeBackups' `Shared` (Shared=True answers the account's own backups
again). `honour_shared()` makes it answer as AWS does: Shared=False, the account's own
backups; Shared=True, the backups other accounts shared with it (put there by `share`).
Works under `mock_aws` and a moto server in the same process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.cloudhsmv2.models import Backup, CloudHSMV2Backend, cloudhsmv2_backends
from moto.utilities.paginator import paginate

_SHARED_WITH_ME = "_shared_with_me"


def share(owner_account: str, region: str, backup_id: str, viewer_account: str) -> None:
    """Share one of the owner's backups with the viewer (same object: same ARN and fields)."""
    backup: Backup = cloudhsmv2_backends[owner_account][region].backups[backup_id]
    viewer = cloudhsmv2_backends[viewer_account][region]
    shelf: dict[str, Backup] = viewer.__dict__.setdefault(_SHARED_WITH_ME, {})
    shelf[backup_id] = backup


def _describe_backups(
    self: CloudHSMV2Backend,
    filters: dict[str, list[str]] | None,
    shared: bool | None,
    sort_ascending: bool | None,
) -> list[Backup]:
    if shared:
        shelf: dict[str, Backup] = self.__dict__.get(_SHARED_WITH_ME, {})
        chosen = list(shelf.values())
        if filters and "backupIds" in filters:
            chosen = [b for b in chosen if b.backup_id in filters["backupIds"]]
    else:
        chosen = _ORIGINAL.__wrapped__(self, filters, False, sort_ascending)
    return sorted(chosen, key=lambda b: b.create_timestamp, reverse=not sort_ascending)


_describe_backups.__name__ = "describe_backups"
_ORIGINAL: Any = CloudHSMV2Backend.describe_backups
_HONOURING: Any = paginate(CloudHSMV2Backend.PAGINATION_MODEL)(_describe_backups)


@contextmanager
def honour_shared() -> Iterator[None]:
    CloudHSMV2Backend.describe_backups = _HONOURING  # type: ignore[method-assign]
    try:
        yield
    finally:
        CloudHSMV2Backend.describe_backups = _ORIGINAL  # type: ignore[method-assign]
