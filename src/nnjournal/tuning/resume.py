"""`nnj tune --resume RUN_DIR`: a search stopped by Ctrl-C, SIGTERM or SIGKILL continues in
its own study until it holds the asked number of trials, then writes its entry as usual.

What a resume needs is written before the first trial: `config.toml` (the recipe as resolved,
with its `[search]`) and `tune.json` (the study's name, where it is stored and which trials
the study held before this search began, so a joined study's older trials are not counted).
The finished trials are in the study itself (Optuna's journal file in the run folder, or the
database given with --storage). A trial that was running when the process stopped is marked
failed ("interrupted") and trained again under a new number; a trial that diverged counts as
done, as it does in a search that is never interrupted."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json

STATE = "tune.json"
DIVERGED = "diverged"  # the user attribute a trial stopped by the non-finite guard carries


def write_state(run_dir: Path, *, study_name: str, storage: str | None, before: list[int]) -> None:
    """`storage`: the URL as shown (password hidden), None for the run folder's journal file."""
    atomic_write_json(
        run_dir / STATE, {"study_name": study_name, "storage": storage, "before": sorted(before)}
    )


def read_state(run_dir: Path) -> dict[str, Any]:
    """The resume state of an unfinished search folder; anything else is one clear line."""
    path = run_dir / STATE
    if not (run_dir / "config.toml").is_file() or not path.is_file():
        raise NNJError(
            f"{run_dir} is not a folder `nnj tune` made (no config.toml and {STATE}); give RUN_DIR of a search"
        )
    if (run_dir / "summary.json").exists():
        raise NNJError(f"{run_dir} already finished; nothing to resume")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not isinstance(state.get("study_name"), str):
            raise ValueError("no study_name")
        state["before"] = [int(n) for n in state.get("before", [])]
    except (ValueError, TypeError) as err:
        raise NNJError(f"{path} is damaged ({err}); start the search again with nnj tune RECIPE") from None
    return state


def interrupted_trials(trials: list[Any]) -> list[Any]:
    """The trials a stopped process left unfinished: still RUNNING (killed) or failed without
    having diverged (Ctrl-C / SIGTERM inside the trial)."""
    return [
        t
        for t in trials
        if t.state.name == "RUNNING" or (t.state.name == "FAIL" and DIVERGED not in t.user_attrs)
    ]


def mark_interrupted(storage: Any, trials: list[Any]) -> None:
    """Close a killed process's RUNNING trials as failed, so no reader waits for them."""
    import optuna

    for t in trials:
        if t.state.name == "RUNNING":
            storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does: Optuna then closes the running trial
    as failed and the search stops with a resume line instead of dying mid-trial."""

    def handle(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
        yield
        return
    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
