"""The moto fleet used by the tests, the demo and the benchmarks."""

from .fleet import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet, seed_demo_fleet

__all__ = ["DEFAULT_ACCOUNT", "PRIMARY", "SECONDARY", "Fleet", "seed_demo_fleet"]
