"""The CDK side of hsm-backup-audit: one stack that wires small constructs together."""
