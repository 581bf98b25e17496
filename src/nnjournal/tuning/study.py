"""`nnj tune RECIPE`: an Optuna study over the recipe's `[search]` space, in one process or
several on this machine (journal-file storage), or against a shared PostgreSQL study for many
machines; then the journal entry (`tuning/entry.py`).

Optuna is an optional extra (`pip install 'nnjournal[tune]'`), imported only here."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nnjournal import data as data_mod
from nnjournal import recipes
from nnjournal.config import RunConfig, to_toml
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_text
from nnjournal.journal.run_dir import create_run_dir, mark_failed
from nnjournal.tasks import build_task, task_class
from nnjournal.training.guard import NonFiniteError
from nnjournal.training.interrupt import TrainingInterrupted
from nnjournal.tuning.objective import Objective, objective_metric
from nnjournal.tuning.resume import (
    interrupted_trials,
    mark_interrupted,
    read_state,
    sigterm_as_ctrl_c,
    write_state,
)
from nnjournal.tuning.space import check_space
from nnjournal.worker_process import stop_with_parent


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise NNJError("nnj tune needs Optuna: pip install 'nnjournal[tune]' (or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    trials_log = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _NoInterruptTraceback) for f in trials_log.filters):
        trials_log.addFilter(_NoInterruptTraceback())
    return optuna


class _NoInterruptTraceback(logging.Filter):
    """Optuna logs a trial stopped by Ctrl-C / SIGTERM with the KeyboardInterrupt's traceback,
    then "failed with value None."; the search's own one line (with the resume command) says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        stopped = record.exc_info is not None and isinstance(record.exc_info[1], KeyboardInterrupt)
        return not stopped and not record.getMessage().endswith("failed with value None.")


@dataclass
class TuneResult:
    run_dir: Path
    summary: dict[str, Any]
    best_config: RunConfig


def open_storage(url: str, workers: int) -> Any:
    """An Optuna storage from a URL or a journal file path; an unreachable database is an
    `NNJError` now, before any trial runs. SQLite with several workers is refused: SQLite
    locks the whole file per writer and Optuna documents it as unsafe for parallel use."""
    optuna = import_optuna()
    if url.startswith("sqlite"):
        if workers > 1:
            raise NNJError(
                "--storage sqlite:// with --workers > 1: SQLite is not safe for parallel writers; drop "
                "--storage (a journal file in the run folder is) or use postgresql://"
            )
        _check_sqlite(url)
    if "://" in url:
        url = _with_driver(url)
        kwargs = {"connect_args": {"connect_timeout": 5}} if url.startswith("postgresql") else {}
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except Exception as err:  # sqlalchemy's and the driver's errors, which name no common base
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise NNJError(f"--storage {_hide_password(url)}: cannot open the study storage ({first})") from None
    from optuna.storages.journal import JournalFileBackend

    _check_journal_file(Path(url))
    return optuna.storages.JournalStorage(JournalFileBackend(url))


FORMS = "a journal file in an existing folder, sqlite:///FILE.db or postgresql://USER@HOST/DB"


def _check_sqlite(url: str) -> None:
    """A URL SQLAlchemy cannot parse, or a database file in a folder that does not exist: one line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except ArgumentError:
        raise NNJError(f"--storage {url!r} is not a database URL; give {FORMS}") from None
    if database and database != ":memory:" and not Path(database).parent.is_dir():
        raise NNJError(f"--storage {url}: the folder {Path(database).parent} does not exist; create it, or give {FORMS}")


def _check_journal_file(path: Path) -> None:
    """A path that is a folder, lies in a missing folder, or holds something else than Optuna's
    journal (which Optuna would append to, then fail on): one line, and the file is left alone."""
    import json

    if path.is_dir():
        raise NNJError(f"--storage {path} is a folder; give a journal file in it (e.g. {path / 'study.journal'})")
    if not path.parent.is_dir():
        raise NNJError(f"--storage {path}: the folder {path.parent} does not exist; give {FORMS}")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as fh:
            first = fh.readline()
        try:
            ok = isinstance(json.loads(first), dict) and "op_code" in json.loads(first)
        except (ValueError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise NNJError(f"--storage {path} is not an Optuna journal file; give a new file name, or {FORMS}")


def _with_driver(url: str) -> str:
    """`postgresql://` with the driver that is installed: SQLAlchemy's default differs by
    version (psycopg2 before 2.1, psycopg 3 from it); the `tune` extra brings psycopg2."""
    if not url.startswith("postgresql://"):
        return url
    import importlib.util

    for module, dialect in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return url.replace("postgresql://", f"postgresql+{dialect}://", 1)
    raise NNJError("--storage postgresql://: no PostgreSQL driver installed; pip install psycopg2-binary")


def _hide_password(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    return f"{scheme}://{cred.split(':')[0]}:***@{tail}" if ":" in cred else url


def make_sampler(cfg: RunConfig, worker: int) -> Any:
    optuna = import_optuna()
    search = cfg.search
    seed = cfg.seed + worker  # each worker its own stream; trials seed their training themselves
    if search.sampler == "grid":
        from nnjournal.tuning.objective import grid_space

        return optuna.samplers.GridSampler(grid_space(search), seed=seed)
    if search.sampler == "random":
        return trial_seeded_random_sampler(cfg.seed)
    return optuna.samplers.TPESampler(seed=seed)


def trial_seeded_random_sampler(study_seed: int) -> Any:
    """Random search whose every draw is a function of (study seed, trial number, parameter)
    only: the same trials come out whether one worker runs them or several, in any order.
    (Optuna's RandomSampler draws from one stream per process, so each worker got its own.)"""
    import zlib

    optuna = import_optuna()

    class TrialSeededRandomSampler(optuna.samplers.BaseSampler):
        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            return {}

        def sample_relative(self, study: Any, trial: Any, search_space: dict[str, Any]) -> dict[str, Any]:
            return {}

        def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: Any) -> Any:
            key = [study_seed, trial.number, zlib.crc32(param_name.encode())]
            seed = int(np.random.SeedSequence(key).generate_state(1)[0])
            return optuna.samplers.RandomSampler(seed=seed).sample_independent(
                study, trial, param_name, param_distribution
            )

    return TrialSeededRandomSampler()


def make_pruner(cfg: RunConfig) -> Any:
    optuna = import_optuna()
    if cfg.search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)
    if cfg.search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=cfg.training.epochs)
    return optuna.pruners.NopPruner()


def run_tune(
    recipe: str | Path | None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    out: Path | str = "runs",
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    quiet: bool = True,
    resume: Path | str | None = None,
) -> TuneResult:
    """Search, retrain the best configuration once with the recipe's seed and test it, write
    the entry and `best.toml`. Every input is checked before the first trial. `resume`: an
    unfinished search folder, continued until its study holds `search.n_trials` trials of its own."""
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if workers < 1:
        raise NNJError(f"--workers must be at least 1, got {workers}")
    if study_name is not None and not study_name.strip():  # Optuna would store a study without a name
        raise NNJError("--study-name is empty: give the study a name, or leave it out (default: RECIPE-tune)")
    state = None
    if resume is not None:
        state = read_state(Path(resume))
        if overrides or recipe:
            raise NNJError("--resume continues a search as it was started: leave out RECIPE and --set")
        if state["storage"] is not None and storage is None:
            raise NNJError(f"this search keeps its trials in {state['storage']}: give that --storage again")
        if study_name is not None and study_name != state["study_name"]:
            raise NNJError(f"this search's study is {state['study_name']!r}; leave out --study-name")
        cfg = recipes.load(Path(resume) / "config.toml")
    else:
        cfg = recipes.load(recipe or "", list(overrides))
    search = check_space(cfg)
    optuna = import_optuna()
    if storage is not None:
        open_storage(storage, workers)  # fails fast on a bad URL, before the data is loaded
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    task = build_task(cfg.task, bundle.info, bundle)
    metric, way = objective_metric(cfg, task)
    check_trial_data(cfg, bundle)
    run_dir = Path(resume) if resume is not None else create_run_dir(out, f"{cfg.recipe}-tune")
    with mark_failed(run_dir, created=resume is None), interrupted_says_resume(run_dir):
        url = storage or str(run_dir / "study.journal")
        name = state["study_name"] if state else study_name or f"{cfg.recipe}-tune"
        the_storage = open_storage(url, workers)
        study = optuna.create_study(
            storage=the_storage, study_name=name, direction=way, load_if_exists=True,
            sampler=make_sampler(cfg, 0), pruner=make_pruner(cfg),
        )
        if state is None:  # what a resume needs, before the first trial
            before = {t.number for t in study.trials}
            atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
            write_state(run_dir, study_name=name, storage=None if storage is None else _hide_password(url),
                        before=sorted(before))
            n_trials = search.n_trials
        else:
            before = set(state["before"])
            mine = [t for t in study.trials if t.number not in before]
            stopped = interrupted_trials(mine)
            mark_interrupted(the_storage, stopped)
            n_trials = max(0, search.n_trials - (len(mine) - len(stopped)))
            shutil.rmtree(run_dir / "best", ignore_errors=True)  # a retraining the stop cut short
        objective = Objective(cfg, bundle, metric, search.pruner != "none")
        shares = [n_trials // workers + (i < n_trials % workers) for i in range(workers)]
        search_t0 = time.perf_counter()
        with sigterm_as_ctrl_c():
            if n_trials == 0:
                pass
            elif workers == 1 or sys.platform != "linux":
                with _one_torch_thread():  # as each of several workers has: small models, a shared machine
                    _optimize(study, objective, n_trials, search.timeout)
            else:
                _optimize_in_processes(cfg, url, name, objective, [s for s in shares if s], workers)
            search_s = time.perf_counter() - search_t0
            study = optuna.load_study(study_name=name, storage=open_storage(url, workers))
            mine = [t for t in study.trials if t.number not in before]
            stopped = {t.number for t in interrupted_trials(mine)}  # redone under new numbers
            mine = [t for t in mine if t.number not in stopped]
            from nnjournal.tuning.entry import write_tune_entry

            summary, best_cfg = write_tune_entry(
                run_dir, cfg, study, mine, metric, way,
                started=started, t0=t0, search_s=search_s, workers=workers, storage=_hide_password(url), quiet=quiet,
            )
    return TuneResult(run_dir, summary, best_cfg)


def check_trial_data(cfg: RunConfig, bundle: Any) -> None:
    """What every trial would refuse after the run folder exists: no validation split to score
    on, or more folds than the training and validation rows allow."""
    if cfg.search.cv > 1:
        from nnjournal.evaluation.cross_validation import check_folds, pool_without_test

        pool, rows = pool_without_test(cfg, bundle)
        check_folds(cfg.search.cv, pool.y[rows], pool.class_names, key="search.cv")
    elif bundle.val is None or len(bundle.val) == 0:
        raise NNJError("nnj tune scores trials on the validation split: set data.val_fraction > 0 or search.cv")


@contextmanager
def interrupted_says_resume(run_dir: Path) -> Iterator[None]:
    """Ctrl-C or SIGTERM anywhere in the search or the final retraining: one line with the
    resume command, exit 130; the finished trials stay in the study."""
    try:
        yield
    except (KeyboardInterrupt, TrainingInterrupted):
        raise TrainingInterrupted(
            f"search stopped (its finished trials are kept in the study); resume with: nnj tune --resume {run_dir}"
        ) from None


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Trials of small models on one thread: measured on 2 busy cores, an epoch of digits-mlp
    took 0.7 s on one thread and 5 s on two (threads spin waiting for each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _optimize(study: Any, objective: Objective, n_trials: int, timeout: float | None) -> None:
    study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(NonFiniteError,), gc_after_trial=False)


def _optimize_in_processes(
    cfg: RunConfig, url: str, name: str, objective: Objective, shares: list[int], workers: int
) -> None:
    """`shares[i]` trials in process i, all against one study. Forked, as studies'
    workers are (the loaded data is shared, nothing is pickled), one torch thread each."""
    context = multiprocessing.get_context("fork")
    procs = [
        context.Process(target=_worker, args=(cfg, url, name, objective, n, i, workers, os.getpid()), daemon=False)
        for i, n in enumerate(shares)
    ]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:  # stop the workers too (SIGTERM is Ctrl-C in them), then say how to resume
        for p in procs:
            p.terminate()
        for p in procs:
            p.join()
        raise
    failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        raise NNJError(f"tuning worker(s) {failed} exited with an error (see above); the study keeps their trials")


def _worker(
    cfg: RunConfig, url: str, name: str, objective: Objective, n_trials: int, index: int, workers: int, parent: int
) -> None:
    import torch

    stop_with_parent(parent)  # a parent killed by SIGKILL cannot stop its workers itself

    torch.set_num_threads(1)
    optuna = import_optuna()
    study = optuna.load_study(
        study_name=name, storage=open_storage(url, workers), sampler=make_sampler(cfg, index), pruner=make_pruner(cfg)
    )
    _optimize(study, objective, n_trials, cfg.search.timeout)
