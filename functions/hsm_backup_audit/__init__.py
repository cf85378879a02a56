"""hsm-backup-audit: a compliance audit of AWS CloudHSM v2 backups."""

__version__ = "0.1.0"
