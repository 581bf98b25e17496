"""What every study shares: profiles, training one setting over several seeds (vectorized where
it pays), errors on a split, and writing the study's journal entry."""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import nnjournal
from nnjournal import models
from nnjournal.config import RunConfig, deep_merge, to_toml, validate_config
from nnjournal.data.bundle import DataBundle, Split
from nnjournal.files import atomic_write_json, atomic_write_text
from nnjournal.journal.report import Block, render_report
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.journal.site import write_index
from nnjournal.regularization.ensemble import Ensemble, member_seed, train_ensemble
from nnjournal.tasks import Task, build_task
from nnjournal.training.history import History
from nnjournal.training.predict import predict_outputs
from nnjournal.training.seeding import seed_everything, select_device
from nnjournal.training.trainers import train_one
from nnjournal.training.vectorized import fit_vectorized, should_vectorize


def study_setting(cfg: RunConfig, key: str, profiles: dict[str, dict[str, Any]]) -> Any:
    """`study.<key>` when the recipe sets it, else the profile's value."""
    value = getattr(cfg.study, key)
    return profiles[cfg.study.profile][key] if value is None else value


def with_overrides(cfg: RunConfig, partial: dict[str, Any]) -> RunConfig:
    """`cfg` with a partial recipe merged in (the study section dropped: a setting is one model)."""
    base = cfg.model_dump(mode="json", exclude={"study", "variants"})
    return validate_config(deep_merge(base, partial))


def subsample(split: Split, size: int, seed: int) -> Split:
    """A stratified subset of `size` rows: a deliberately small training set overfits."""
    if size >= len(split):
        return split
    from sklearn.model_selection import train_test_split

    y = split.y.cpu().numpy()
    keep, _ = train_test_split(np.arange(len(y)), train_size=size, random_state=seed, stratify=y)
    idx = torch.as_tensor(np.sort(keep))
    return Split(split.x[idx], split.y[idx])


@dataclass
class SeedRuns:
    """One setting trained once per seed."""

    models: list[nn.Module]  # one per seed (an `Ensemble` when cfg.ensemble.size > 1)
    histories: list[list[History]]  # per seed: one history per trained network
    wall_s: float  # total wall time of the setting
    vectorized: bool
    members: list[list[nn.Module]] = field(default_factory=list)  # per seed, for ensembles

    @property
    def trainings(self) -> int:
        return sum(len(h) for h in self.histories)


def train_seeds(cfg: RunConfig, bundle: DataBundle, task: Task, seeds: list[int]) -> SeedRuns:
    """Train `cfg`'s model (or ensemble) once per seed. Same-architecture networks of all
    seeds (and of all ensemble members) go through one vectorized run when eligible."""

    def build() -> nn.Module:
        return models.build(cfg.model, bundle.info, task.out_features)

    t0 = time.perf_counter()
    ens = cfg.ensemble
    if ens.size > 1 and ens.method != "seeds":
        results = [
            train_ensemble(
                build, bundle.train, bundle.val, task=task, training=cfg.training, ensemble=ens, seed=s
            )
            for s in seeds
        ]
        return SeedRuns(
            [r.model for r in results],
            [r.histories for r in results],
            time.perf_counter() - t0,
            all(r.vectorized for r in results),
            [r.members for r in results],
        )
    size = ens.size
    net_seeds = [member_seed(s, i) if size > 1 else s for s in seeds for i in range(size)]
    nets = []
    for s in net_seeds:
        seed_everything(s)
        nets.append(build())
    vectorized = should_vectorize(cfg.training.vectorize, nets, cfg.training.schedule.name, training=cfg.training)
    if vectorized:
        hs = fit_vectorized(nets, bundle.train, bundle.val, task=task, config=cfg.training, seeds=net_seeds)
    else:
        # Each net was built after its own seeding above; train_one seeds it again before fitting.
        hs = [train_one(cfg, bundle, task, model=net, seed=s)[1] for net, s in zip(nets, net_seeds, strict=True)]
    groups = [nets[i * size : (i + 1) * size] for i in range(len(seeds))]
    histories = [hs[i * size : (i + 1) * size] for i in range(len(seeds))]
    if size > 1:
        final = [Ensemble(g, task.ensemble_outputs, ens.combine) for g in groups]
        return SeedRuns(final, histories, time.perf_counter() - t0, vectorized, groups)
    return SeedRuns([g[0] for g in groups], histories, time.perf_counter() - t0, vectorized)


def default_workers() -> int:
    """Processes for `train_settings` when `study.workers` is unset: one per CPU core, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def train_settings(
    settings: dict[str, RunConfig], bundle: DataBundle, task: Task, seeds: list[int], workers: int = 1
) -> Iterator[tuple[str, SeedRuns]]:
    """`train_seeds` for every setting, yielded in the given order. With `workers` > 1 the
    settings train in that many processes at once (one torch thread each): the settings are
    independent and every training seeds itself, so the numbers are the same as one by one —
    only the wall time changes (on 2 cores, about half).

    Workers are forked (Linux), each set to one torch thread as DataLoader workers are: a
    forked child must not reuse the parent's OpenMP pool. Spawned workers would re-run the
    user's script, which breaks scripts without an `if __name__ == "__main__"` guard, so
    where fork is unavailable (Windows) or unsafe (macOS) the settings train one by one."""
    if workers <= 1 or len(settings) <= 1 or sys.platform != "linux":
        for name, cfg in settings.items():
            yield name, train_seeds(cfg, bundle, task, seeds)
        return
    # The costliest settings (ensembles) first, so no process is left with one at the end.
    order = sorted(settings, key=lambda n: -settings[n].ensemble.size)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        min(workers, len(settings)), mp_context=context, initializer=_one_thread
    ) as pool:
        futures = {n: pool.submit(train_seeds, settings[n], bundle, task, seeds) for n in order}
        for name in settings:
            yield name, futures[name].result()


def _one_thread() -> None:
    torch.set_num_threads(1)


def error(model: nn.Module, split: Split, task: Task) -> float:
    """Classification error (1 - accuracy) of `model` on `split`, in evaluation mode."""
    outputs = predict_outputs(model, split.x)
    correct = task.batch_score(outputs, split.y.to(outputs.device))
    return 1.0 - float(correct) / len(split)


def loss(model: nn.Module, split: Split, task: Task) -> float:
    """Mean data loss (cross-entropy for classification) of `model` on `split`, evaluation mode."""
    outputs = predict_outputs(model, split.x)
    return float(task.loss(outputs, split.y.to(outputs.device)))


def mean_std(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def pm(values: list[float], digits: int = 3) -> str:
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def load_task(cfg: RunConfig, bundle: DataBundle) -> Task:
    return build_task(cfg.task, bundle.info)


def write_study(
    cfg: RunConfig,
    out: Path | str,
    *,
    started: str,
    elapsed: float,
    headline: dict[str, Any],
    rows: dict[str, dict[str, float]],
    blocks: list[Block],
    plots: list[dict[str, str]],
    conclusion: list[str],
    details: dict[str, Any],
    run_dir: Path | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write config.toml, summary.json (last: it marks the run finished), report.md/html and
    refresh the index of runs. `rows` maps a setting to its headline numbers (shown by
    `nnj run` as a table); `blocks` is the report body between the header and the config."""
    run_dir = run_dir or create_run_dir(out, cfg.recipe)
    atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
    summary = {
        "recipe": cfg.recipe,
        "title": cfg.journal.title,
        "aim": cfg.journal.aim,
        "seed": cfg.seed,
        "task": cfg.task.name,
        "study": {"name": cfg.study.name, "profile": cfg.study.profile, **details},
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "headline": headline,
        "variants": {name: {"test": r} for name, r in rows.items()},
        "baselines": {},
        "plots": plots,
        "conclusion": conclusion,
        "report_blocks": [list(b) for b in blocks],
        "timings": {"total_s": elapsed},
        "versions": {
            "nnjournal": nnjournal.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    atomic_write_json(run_dir / "summary.json", summary)
    render_report(run_dir)
    write_index(run_dir.parent)
    return run_dir, summary
