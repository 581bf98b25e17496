"""`nnj tune RECIPE`: an Optuna study over the recipe's `[search]` space, in one process or
several on this machine (journal-file storage), or against a shared PostgreSQL study for many
machines; then the journal entry (`tuning/entry.py`).

Optuna is an optional extra (`pip install 'nnjournal[tune]'`), imported only here."""

from __future__ import annotations

import multiprocessing
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
from nnjournal.config import RunConfig
from nnjournal.errors import NNJError
from nnjournal.journal.run_dir import create_run_dir, mark_failed
from nnjournal.tasks import build_task, task_class
from nnjournal.training.guard import NonFiniteError
from nnjournal.tuning.objective import Objective, objective_metric
from nnjournal.tuning.space import check_space


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise NNJError("nnj tune needs Optuna: pip install 'nnjournal[tune]' (or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


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
        return optuna.storages.RDBStorage(url)
    if "://" in url:
        url = _with_driver(url)
        kwargs = {"connect_args": {"connect_timeout": 5}} if url.startswith("postgresql") else {}
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except Exception as err:  # sqlalchemy's and the driver's errors, which name no common base
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise NNJError(f"--storage {_hide_password(url)}: cannot open the study storage ({first})") from None
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(url))


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
    recipe: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    out: Path | str = "runs",
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    quiet: bool = True,
) -> TuneResult:
    """Search, retrain the best configuration once with the recipe's seed and test it, write
    the entry and `best.toml`. Every input is checked before the first trial."""
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if workers < 1:
        raise NNJError(f"--workers must be at least 1, got {workers}")
    cfg = recipes.load(recipe, list(overrides))
    search = check_space(cfg)
    optuna = import_optuna()
    if storage is not None:
        open_storage(storage, workers)  # fails fast on a bad URL, before the data is loaded
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    task = build_task(cfg.task, bundle.info, bundle)
    metric, way = objective_metric(cfg, task)
    run_dir = create_run_dir(out, f"{cfg.recipe}-tune")
    with mark_failed(run_dir, created=True):
        url = storage or str(run_dir / "study.journal")
        name = study_name or f"{cfg.recipe}-tune"
        study = optuna.create_study(
            storage=open_storage(url, workers), study_name=name, direction=way, load_if_exists=True,
            sampler=make_sampler(cfg, 0), pruner=make_pruner(cfg),
        )
        before = {t.number for t in study.trials}
        objective = Objective(cfg, bundle, metric, search.pruner != "none")
        shares = [search.n_trials // workers + (i < search.n_trials % workers) for i in range(workers)]
        search_t0 = time.perf_counter()
        if workers == 1 or sys.platform != "linux":
            with _one_torch_thread():  # as each of several workers has: small models, a shared machine
                _optimize(study, objective, search.n_trials, search.timeout)
        else:
            _optimize_in_processes(cfg, url, name, objective, [s for s in shares if s], workers)
        search_s = time.perf_counter() - search_t0
        study = optuna.load_study(study_name=name, storage=open_storage(url, workers))
        mine = [t for t in study.trials if t.number not in before]
        from nnjournal.tuning.entry import write_tune_entry

        summary, best_cfg = write_tune_entry(
            run_dir, cfg, study, mine, metric, way,
            started=started, t0=t0, search_s=search_s, workers=workers, storage=_hide_password(url), quiet=quiet,
        )
    return TuneResult(run_dir, summary, best_cfg)


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
        context.Process(target=_worker, args=(cfg, url, name, objective, n, i, workers), daemon=False)
        for i, n in enumerate(shares)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        raise NNJError(f"tuning worker(s) {failed} exited with an error (see above); the study keeps their trials")


def _worker(cfg: RunConfig, url: str, name: str, objective: Objective, n_trials: int, index: int, workers: int) -> None:
    import torch

    torch.set_num_threads(1)
    optuna = import_optuna()
    study = optuna.load_study(
        study_name=name, storage=open_storage(url, workers), sampler=make_sampler(cfg, index), pruner=make_pruner(cfg)
    )
    _optimize(study, objective, n_trials, cfg.search.timeout)
