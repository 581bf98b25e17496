"""What a forked worker process does so that it never outlives the command that started it.

A parent stopped by Ctrl-C or SIGTERM stops its workers itself; one killed by SIGKILL (the
out-of-memory killer, `kill -9`, a scheduler's hard limit) cannot, and its workers would go on
training trials nobody waits for, holding the cores and the study's storage. On Linux the kernel
sends the worker a signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`); elsewhere a thread
notices the parent is gone within a second. The signal is SIGTERM, which the search turns into
Ctrl-C: the running trial is closed as failed, so `nnj tune --resume` redoes it."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def stop_with_parent(parent_pid: int, sig: signal.Signals = signal.SIGTERM) -> None:
    """Deliver `sig` to this process when `parent_pid` (the process that forked it) dies. Call
    it first thing in the worker."""
    if not (sys.platform.startswith("linux") and _ask_kernel(sig)):
        threading.Thread(target=_watch_parent, args=(parent_pid, sig), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os.kill(os.getpid(), sig)


def _ask_kernel(sig: signal.Signals) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no prctl in this C library
        return False


def _watch_parent(parent_pid: int, sig: signal.Signals) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), sig)
