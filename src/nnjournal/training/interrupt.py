"""Ctrl-C and SIGTERM during training: finish nothing half-way. The trainer notices the signal
at the next batch, saves the last finished epoch's checkpoint and raises `TrainingInterrupted`,
which the CLI prints as one line with the resume command and exit code 130."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from nnjournal.errors import NNJError


class TrainingInterrupted(NNJError):
    """The run was stopped by a signal; its last finished epoch is checkpointed."""

    exit_code = 130


class InterruptFlag:
    """Within `with InterruptFlag() as flag:` SIGINT/SIGTERM set `flag.raised` instead of
    killing the process (main thread only; elsewhere signals keep their handlers). A second
    Ctrl-C while saving kills as usual."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.raised: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.raised = signal.Signals(signum).name
        for sig, handler in self._previous.items():  # the next signal acts at once
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def __enter__(self) -> InterruptFlag:
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


@contextmanager
def ctrl_c_resumable(run_dir: Path) -> Iterator[None]:
    """Ctrl-C outside the trainer's watch (evaluating, fitting baselines, writing the journal)
    is the same one line as during training: the trained epochs are checkpointed, so say how to
    resume instead of exiting 130 without a word."""
    try:
        yield
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"stopped by SIGINT (the finished epochs are kept); resume with: nnj run --resume {run_dir}"
        ) from None
