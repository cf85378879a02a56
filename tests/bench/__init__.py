"""`make bench`: the figures behind the speed target and the scale limits.

A benchmark, never a timed test: it prints what it measured and PASS/FAIL per target,
and exits non-zero when a target is missed.
"""
