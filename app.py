#!/usr/bin/env python3
"""CDK entry point (`make synth`, which runs the pinned CDK CLI): the app is built in infra/app.py.

A bad context value or policy stops the synth with one line on stderr and exit code 2,
the line the command line prints for the same mistake.
"""

from __future__ import annotations

import sys

from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit.engine.policy import PolicyError
from infra.app import create_app
from infra.settings import SettingsError


def main() -> int:
    try:
        app = create_app()
    except (PolicyError, SettingsError) as exc:
        print(f"hsm-backup-audit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
