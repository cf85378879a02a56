"""Every subject the digest can make is one SNS accepts: the rule is read from botocore's
model of Publish, not copied here. Parts that do not fit are left out whole, never cut."""

from __future__ import annotations

import re

import botocore.loaders
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hsm_backup_audit.constants import DIGEST_SUBJECT_MAX, Status
from hsm_backup_audit.engine.digest_subject import SubjectFacts, compose_subject


def _publish_subject_limit() -> int:
    """ "... and less than 100 characters long" from the Publish input's Subject member."""
    model = botocore.loaders.Loader().load_service_model("sns", "service-2")
    doc = model["shapes"]["PublishInput"]["members"]["Subject"]["documentation"]
    match = re.search(r"less than (\d+) characters", doc)
    assert match, doc
    return int(match.group(1))


LESS_THAN = _publish_subject_limit()
COUNT = st.integers(min_value=0, max_value=10**9)  # DescribeBackups pages 50 at a time

facts = st.builds(
    SubjectFacts,
    status=st.sampled_from([str(s) for s in Status]),
    who=st.one_of(
        st.from_regex(r"[0-9]{12}", fullmatch=True),
        st.integers(2, 10**5).map(lambda n: f"{n} accounts"),
        st.text(max_size=40),  # whatever the scope's account id is, it is bounded
    ),
    findings=COUNT,
    clusters=COUNT,
    backups=COUNT,
    errors=COUNT,
    weekly=st.booleans(),
    new=st.one_of(st.none(), COUNT),
    resolved=COUNT,
    info=COUNT,
    since=st.one_of(st.none(), st.dates().map(str)),
)


def test_the_limit_is_the_models() -> None:
    assert DIGEST_SUBJECT_MAX < LESS_THAN


@settings(max_examples=400, deadline=None)
@given(facts)
@example(  # a scope's name that ends in punctuation, with no room for the total after it
    SubjectFacts("NON_COMPLIANT", "00:", 10**9, 10**9, 0, new=10**9, resolved=10**9)
)
def test_every_subject_is_under_the_models_limit_one_ascii_line_led_by_its_status(
    subject_facts: SubjectFacts,
) -> None:
    subject = compose_subject(subject_facts)
    # SNS: less than LESS_THAN characters, no line breaks or control characters
    assert len(subject) < LESS_THAN
    assert subject.isascii() and subject.isprintable()
    # the status leads; what changed comes next and is never cut
    assert subject.startswith(f"[{subject_facts.status}]")
    if subject_facts.new is not None:
        assert f"{subject_facts.new:,} new, {subject_facts.resolved:,} resolved" in subject
    assert not subject.endswith(("...", ",", ":", "-"))
    if subject_facts.weekly and len(subject) < 70:
        assert "weekly digest:" in subject


def test_a_quiet_day_keeps_every_part_whole_within_the_limit() -> None:
    # Given the quiet day the issue saw cut at exactly 100 ("...since 2026-12-0...")
    quiet = SubjectFacts(
        status="NON_COMPLIANT",
        who="123456789012",
        findings=14,
        clusters=4,
        backups=2500,
        weekly=True,
        new=0,
        resolved=0,
        info=13,
        since="2026-12-05",
    )
    subject = compose_subject(quiet)
    # Then what does not fit is left out whole, in order of least importance
    assert subject == (
        "[NON_COMPLIANT] weekly digest: 0 new, 0 resolved - CloudHSM backups 123456789012: "
        "14 findings"
    )
    assert len(subject) < LESS_THAN
    # and with room, the INFO changes and the baseline's day come back
    roomy = compose_subject(
        SubjectFacts("COMPLIANT", "1", 14, 4, 9, new=0, info=13, since="2026-12-05")
    )
    assert roomy == (
        "[COMPLIANT] 0 new, 0 resolved since 2026-12-05 (+13 INFO) - CloudHSM backups 1: "
        "14 findings"
    )
