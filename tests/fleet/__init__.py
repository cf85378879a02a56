"""The moto fleet used by the tests, the demo and the benchmarks."""

from .backup_writes import install as _install_backup_writes
from .fleet import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet, seed_demo_fleet

__all__ = ["DEFAULT_ACCOUNT", "PRIMARY", "SECONDARY", "Fleet", "seed_demo_fleet"]

_install_backup_writes()  # moto lacks ModifyBackupAttributes, DeleteBackup, RestoreBackup
