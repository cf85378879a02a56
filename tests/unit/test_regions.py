"""A region typo names the region meant, or every region it is equally close to."""

from __future__ import annotations

import pytest

from hsm_backup_audit.regions import RegionError, check_region


@pytest.mark.parametrize(
    ("typo", "hint"),
    [
        # Given a name one letter from two regions, both are named, in order.
        ("us-est-1", "(did you mean us-east-1 or us-west-1?)"),
        ("us-east-7", "(did you mean us-east-1 or us-east-2?)"),
        # Given a name closest to one region, only that one.
        ("eu-wset-1", "(did you mean eu-west-1?)"),
    ],
)
def test_a_typo_names_every_region_equally_close(typo: str, hint: str) -> None:
    # When the name is checked
    with pytest.raises(RegionError) as raised:
        check_region(typo)
    # Then the one-line error ends with the suggestion
    assert str(raised.value) == f"{typo!r} is not a known AWS region {hint}"
