"""How the command line ends when it is cut short: quietly, with the exit code a shell expects.

`hsm-backup-audit scan | head` closes the pipe before the report is written: that is not an
error worth a traceback, so the run ends with 141, as if killed by SIGPIPE. Ctrl-C ends it
with 130 at once, without waiting for listings stuck in a network call.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from .constants import ExitCode


def end_quietly(main: Callable[[], int]) -> NoReturn:
    """Run the command and exit with its code; a closed output or Ctrl-C ends it quietly."""
    code: int | str | None
    try:
        try:
            code = main()
        except SystemExit as exc:  # argparse ends --help, --version and usage errors so
            code = exc.code
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
    except BrokenPipeError:
        # The pattern in the Python docs (signal module, "Note on SIGPIPE"): point stdout at
        # devnull, so that the flush at exit does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(ExitCode.OUTPUT_CLOSED)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            print("hsm-backup-audit: interrupted, no verdict", file=sys.stderr)
            sys.stderr.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        # Listings may sit in a network call until its timeout: exit without waiting for them.
        os._exit(ExitCode.INTERRUPTED)
    sys.exit(code)
