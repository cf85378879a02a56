"""Runs the command line under Lambda's file-descriptor quota and reports what it held.

Run as a script in its own process (so only that process is limited):
    python quota_probe.py ARGS...   (the arguments of `hsm-backup-audit`)
It sets RLIMIT_NOFILE to 1,024 (soft and hard, as in Lambda), samples the threads and open
file descriptors of the process while the command runs, and writes one JSON line to
standard error last: {"exit_code", "most_threads", "most_fds"}.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time

LAMBDA_FILE_DESCRIPTORS = 1024
SAMPLE_SECONDS = 0.01


def main() -> int:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LAMBDA_FILE_DESCRIPTORS, LAMBDA_FILE_DESCRIPTORS))
    from hsm_backup_audit.cli import main as cli  # after the limit: imports open files too

    most = {"threads": 0, "fds": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            most["threads"] = max(most["threads"], threading.active_count() - 1)
            most["fds"] = max(most["fds"], len(os.listdir("/proc/self/fd")))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        code = cli(sys.argv[1:])
    finally:
        done.set()
        sampler.join()
    sys.stdout.flush()
    line = {"exit_code": code, "most_threads": most["threads"], "most_fds": most["fds"]}
    print(json.dumps(line), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
