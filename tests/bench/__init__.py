"""`make bench`: the figures behind issue 2's speed target and issue 5's scale limits.

A benchmark, never a timed test: it prints what it measured and PASS/FAIL per target,
and exits non-zero when a target is missed.
"""
