"""One run of a recipe: config -> data -> task -> model -> fit -> evaluate -> journal.

Each variant of the recipe (e.g. XOR's perceptron and MLP) is trained with the same seed and
data, and all of them land in one journal entry. Everything that depends on the kind of
problem is the task's (`tasks/`); the journal entry is written by `journal/entry.py`."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal import data as data_mod
from nnjournal import models, recipes
from nnjournal.config import RunConfig, apply_overrides, to_toml, validate_config
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import DataBundle
from nnjournal.errors import NNJError
from nnjournal.evaluation import details
from nnjournal.evaluation.unused_settings import refuse_unused_settings
from nnjournal.files import atomic_write_text, read_jsonl, remove_stale_temp_files
from nnjournal.journal.entry import write_entry
from nnjournal.journal.run_dir import create_run_dir, mark_failed, variant_dir
from nnjournal.journal.trackers import RunTrackers, VariantTracker, check_loggers, track_study
from nnjournal.regularization.ensemble import Ensemble, train_ensemble
from nnjournal.regularization.label_smoothing import smoothed_loss
from nnjournal.saved_model import save_model
from nnjournal.tasks import Task, build_task, task_class
from nnjournal.training.callbacks import EpochFunction
from nnjournal.training.checkpoint import checkpoint_file, has_checkpoint, load_checkpoint
from nnjournal.training.early_stopping import check_monitor
from nnjournal.training.history import History
from nnjournal.training.interrupt import TrainingInterrupted, ctrl_c_resumable
from nnjournal.training.memory import available_memory, check_trainable_in_memory
from nnjournal.training.precision import check_precision
from nnjournal.training.seeding import select_device
from nnjournal.training.trainers import train_one
from nnjournal.training.vectorized import should_vectorize

log = logging.getLogger("nnjournal")


@dataclass
class VariantResult:
    name: str
    config: RunConfig
    model: torch.nn.Module
    task: Task
    bundle: DataBundle
    history: History
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metrics
    threshold: dict[str, Any] | None = None  # binary: the decision threshold chosen on validation
    importance: dict[str, Any] | None = None  # tabular: permutation importance of raw columns
    test_pred: np.ndarray | None = None  # classification: test-split predictions, computed once
    members_test: list[dict[str, float]] = field(default_factory=list)  # ensembles: each member's
    mc_dropout: dict[str, Any] | None = None  # evaluation.mc_dropout: the stochastic passes' summary


@dataclass
class RunResult:
    run_dir: Path
    config: RunConfig
    variants: dict[str, VariantResult]
    summary: dict[str, Any]

    @property
    def test_metrics(self) -> dict[str, dict[str, float]]:
        return {name: v.metrics["test"] for name, v in self.variants.items()}


def run(
    recipe: str | Path | RunConfig | dict[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    out: Path | str = "runs",
    seed: int | None = None,
    quiet: bool = True,
    resume: Path | str | None = None,
) -> RunResult:
    """Run a recipe (built-in name, .toml path, `RunConfig` or dict) and write its journal
    entry under `out`. `resume` continues an unfinished run directory from its checkpoints."""
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "config.toml").is_file():
            raise NNJError(f"{run_dir} is not a run directory (no config.toml); give the folder `nnj run` made")
        if (run_dir / "summary.json").exists():
            raise NNJError(f"{run_dir} already finished; nothing to resume")
        cfg = recipes.load(run_dir / "config.toml")
        remove_stale_temp_files(run_dir)  # the killed run's half-made temp files, if any
    else:
        cfg = resolve_recipe(recipe, overrides)
        if seed is not None:
            cfg = cfg.model_copy(update={"seed": seed})
    check_loggers(cfg.training)  # an extra not installed: one line, before anything is written
    if resume is None and cfg.study is not None:  # many trainings in one entry (nnjournal.studies)
        from nnjournal.studies import run_study

        study_dir, study_summary = run_study(cfg, out, quiet)
        track_study(cfg, study_dir, study_summary)
        return RunResult(study_dir, cfg, {}, study_summary)

    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # Load (and so validate) every data set before anything is written: bad input must not
    # leave a half-made run directory behind.
    prepared = prepare_variants(cfg.variant_configs())
    if resume is None:
        run_dir = create_run_dir(out, cfg.recipe)
    with (
        ctrl_c_resumable(run_dir),
        mark_failed(run_dir, created=resume is None),
        RunTrackers(cfg, run_dir, list(prepared), resume=resume is not None) as trackers,
    ):
        if resume is None:
            atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
        results: dict[str, VariantResult] = {}
        for name, (vcfg, bundle, task) in prepared.items():
            folder = variant_dir(run_dir, name, len(prepared))
            tracker = trackers.callback(name, vcfg, bundle)
            results[name] = _train_variant(name, vcfg, bundle, task, folder, quiet, resume is not None, run_dir, tracker)
        cv = _cross_validation if cfg.evaluation.cross_validates else None
        summary = write_entry(run_dir, cfg, results, started, t0, cv)
        trackers.finish({name: r.metrics.get("test", {}) for name, r in results.items()})
    for name in results:  # a finished run needs no resume point; model.safetensors holds the result
        checkpoint_file(variant_dir(run_dir, name, len(results)) / "checkpoint").unlink(missing_ok=True)
    return RunResult(run_dir, cfg, results, summary)


def resolve_recipe(
    recipe: str | Path | RunConfig | dict[str, Any], overrides: list[str] | tuple[str, ...]
) -> RunConfig:
    """A recipe (name, path, config or dict) with its overrides, validated."""
    if isinstance(recipe, RunConfig):
        recipe = recipe.model_dump(mode="json")
    if isinstance(recipe, dict):
        return validate_config(apply_overrides(recipe, list(overrides)))
    return recipes.load(recipe, overrides)


def prepare_variants(variant_cfgs: dict[str, RunConfig]) -> dict[str, tuple[RunConfig, DataBundle, Task]]:
    """Each variant's data (loaded once per data section), task and task-prepared bundle,
    checked by `_preflight`."""
    loaded: dict[str, DataBundle] = {}
    out = {}
    for name, vcfg in variant_cfgs.items():
        kind = task_class(vcfg.task)
        if vcfg.ensemble.size > 1 and getattr(kind, "ensemble_outputs", None) is None:
            raise NNJError(
                f"ensemble.size = {vcfg.ensemble.size}: ensembles combine classifiers or regressors, not "
                f"{vcfg.task.name} models; set ensemble.size = 1"
            )
        key = json.dumps(vcfg.data.model_dump(mode="json"), sort_keys=True) + f"|{vcfg.seed}|{kind.data_kind}"
        if key not in loaded:
            loaded[key] = data_mod.load(vcfg.data, seed=vcfg.seed, task=kind.data_kind)
        bundle = loaded[key]
        task = build_task(vcfg.task, bundle.info, bundle)
        bundle = task.prepare_data(bundle, vcfg)
        _preflight(vcfg, bundle, task)
        out[name] = (vcfg, bundle, task)
    return out


def _preflight(cfg: RunConfig, bundle: DataBundle, task: Task) -> None:
    """Check, before a run directory exists, what would otherwise fail only once training (or
    all of it) is done: the device, layer shapes against the data, the augmentation against
    the inputs, the early-stopping monitor, vectorized batch norm, [evaluation] settings the run
    would not use (evaluation/unused_settings.py). Bad input must
    leave nothing half-written. The random state is put back, so the run's numbers do not
    depend on these probes."""
    with torch.random.fork_rng(devices=[]):
        select_device(cfg.training.device)
        augment = build_augment(cfg.training.augment)
        if augment is not None and len(bundle.train):
            augment(bundle.train.x[:2].clone())  # e.g. rotation asked of feature vectors raises
        has_val = bundle.val is not None and len(bundle.val) > 0  # as `fit` decides it
        if getattr(task, "early_stopping", True):  # a task whose trainer has no monitor says so
            check_monitor(cfg.training.early_stopping.monitor if has_val else "train_loss", task, has_val)
        if cfg.evaluation.cross_validates:  # folds that cannot be cut would fail after the whole training
            from nnjournal.evaluation.cross_validation import check_cv

            check_cv(cfg)
        if cfg.training.label_smoothing:
            smoothed_loss(task, cfg.training.label_smoothing)  # a task without classes raises
        probe = models.build(cfg.model, bundle.info, task.out_features)  # shapes that do not fit raise
        check_trainable_in_memory(probe, cfg.training.optimizer, available_memory())  # not the OOM killer later
        if hasattr(task, "check_model") and len(bundle.train):  # e.g. outputs of the targets' shape
            task.check_model(probe, bundle, cfg)
        check_precision(cfg.training, select_device(cfg.training.device), probe)  # float16 off CUDA, ...
        if cfg.ensemble.size > 1:
            # true with batch norm or a precision switch raises
            should_vectorize(cfg.training.vectorize, [probe], cfg.training.schedule.name, training=cfg.training)
        refuse_unused_settings(cfg, task, bundle, probe)  # e.g. a baseline the task does not make


def _train_variant(
    name: str, cfg: RunConfig, bundle: DataBundle, task: Task, folder: Path, quiet: bool, resume: bool,
    run_dir: Path, tracker: VariantTracker,
) -> VariantResult:
    folder.mkdir(parents=True, exist_ok=True)
    if cfg.ensemble.size > 1:
        model, history, members = _train_ensemble_variant(cfg, bundle, task, folder)
        tracker.replay(history.records)  # members trained without hooks: their curves, after the fact
        return _finish_variant(name, cfg, bundle, task, folder, model, history, members)
    metrics_path = folder / "metrics.jsonl"
    checkpoint = folder / "checkpoint"
    if resume and has_checkpoint(checkpoint):
        done = load_checkpoint(checkpoint)["history"]["records"]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in done))
    else:
        if resume and read_jsonl(metrics_path):
            log.warning("%s: no checkpoint to resume from; training %s again from epoch 1", run_dir, name)
        metrics_path.write_text("")  # a clean log: never epochs 1, 2, 3, 1, 2, ...
    with open(metrics_path, "a", encoding="utf-8") as fh:

        def log_epoch(epoch: int, record: dict[str, Any]) -> None:
            fh.write(json.dumps(record) + "\n")
            fh.flush()

        try:
            model, history = train_one(
                cfg, bundle, task, quiet=quiet, callbacks=[EpochFunction(log_epoch), tracker],
                checkpoint=checkpoint, resume=resume,
            )
        except TrainingInterrupted as err:
            raise TrainingInterrupted(f"{err}; resume with: nnj run --resume {run_dir}") from None
    return _finish_variant(name, cfg, bundle, task, folder, model, history, [])


def _train_ensemble_variant(
    cfg: RunConfig, bundle: DataBundle, task: Task, folder: Path
) -> tuple[Ensemble, History, list[torch.nn.Module]]:
    """`ensemble.size` members (seeds, bagging or snapshots) combined into one model. There is
    no per-epoch checkpoint: `--resume` trains the members again. metrics.jsonl holds member
    0's curves; every member's test metrics go to the summary."""

    def build() -> torch.nn.Module:
        return models.build(cfg.model, bundle.info, task.out_features)

    trained = train_ensemble(
        build, bundle.train, bundle.val, task=task, training=cfg.training, ensemble=cfg.ensemble, seed=cfg.seed
    )
    history = trained.histories[0]
    history.train_time_s = sum(h.train_time_s for h in trained.histories)
    atomic_write_text(folder / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history.records))
    return trained.model, history, trained.members


def _finish_variant(
    name: str,
    cfg: RunConfig,
    bundle: DataBundle,
    task: Task,
    folder: Path,
    model: torch.nn.Module,
    history: History,
    members: list[torch.nn.Module],
) -> VariantResult:
    """Evaluate a trained model (or ensemble) on every split and save it."""
    result = VariantResult(name, cfg, model, task, bundle, history)
    for split_name in ("train", "val", "test"):
        split = getattr(bundle, split_name)
        if split is not None and len(split):
            result.metrics[split_name] = task.evaluate(model, split)
    result.members_test = [task.evaluate(m, bundle.test) for m in members]
    task.finish(result, cfg)
    if cfg.evaluation.permutation_importance and hasattr(bundle.preprocessing, "feature_groups"):
        result.importance = details.column_importance(
            model, task, bundle.test, bundle.preprocessing.feature_groups(), cfg.seed
        )
    save_model(
        folder,
        model,
        cfg.model,
        cfg.task,
        bundle.info,
        bundle.preprocessing,
        threshold=result.threshold["value"] if result.threshold else None,
        ensemble=cfg.ensemble if members else None,
        vocab=getattr(task, "vocab", None),
        fitted=task.fitted() if hasattr(task, "fitted") else None,
    )
    return result


def _cross_validation(first: VariantResult) -> dict[str, Any]:
    from nnjournal.evaluation.cross_validation import cross_validate

    return cross_validate(first.config)
