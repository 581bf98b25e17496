"""One run of a recipe: data -> model -> task -> fit -> evaluate (+ baselines) -> journal.

Each variant of the recipe (e.g. XOR's perceptron and MLP) is trained with the same seed
and data, and all of them land in one journal entry."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nnjournal
from nnjournal import data as data_mod
from nnjournal import models, recipes, tasks
from nnjournal.config import RunConfig, apply_overrides, to_toml, validate_config
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import DataBundle
from nnjournal.data.corruption import is_corrupting
from nnjournal.errors import NNJError
from nnjournal.evaluation import details
from nnjournal.evaluation.baselines import baseline_proba, fit_baselines, score_baselines
from nnjournal.evaluation.metrics import confusion, lower_is_better
from nnjournal.evaluation.reconstruction import run_reconstruction_baselines
from nnjournal.journal import autoencoder_plots, plots
from nnjournal.journal.conclusion import reconstruction_conclusion, write_conclusion
from nnjournal.journal.files import atomic_write_json, atomic_write_text, read_jsonl, remove_stale_temp_files
from nnjournal.journal.report import render_report
from nnjournal.journal.run_dir import create_run_dir, variant_dir
from nnjournal.journal.site import write_index
from nnjournal.models.cnn import describe_cnn
from nnjournal.regularization.ensemble import Ensemble, snapshot_cycle_epochs, train_ensemble
from nnjournal.regularization.mc_dropout import has_dropout, mc_dropout_report
from nnjournal.regularization.penalties import WeightPenalty, near_zero_fraction
from nnjournal.saved_model import save_model
from nnjournal.training.checkpoint import load_checkpoint
from nnjournal.training.fit import History, check_monitor, fit, predict_outputs
from nnjournal.training.optim import describe_weight_decay
from nnjournal.training.seeding import seed_everything, select_device
from nnjournal.training.vectorized import should_vectorize


@dataclass
class VariantResult:
    name: str
    config: RunConfig
    model: torch.nn.Module
    task: Any
    bundle: DataBundle
    history: History
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metrics
    threshold: dict[str, Any] | None = None  # binary: the decision threshold chosen on validation
    importance: dict[str, Any] | None = None  # tabular: permutation importance of raw columns
    test_pred: np.ndarray | None = None  # classification: test-split predictions, computed once
    members_test: list[dict[str, float]] = field(
        default_factory=list
    )  # ensembles: each member's test metrics
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
        cfg = recipes.load(run_dir / "config.toml")
        if (run_dir / "summary.json").exists():
            raise NNJError(f"{run_dir} already finished; nothing to resume")
        remove_stale_temp_files(run_dir)  # the killed run's half-made temp files, if any
    else:
        cfg = _resolve(recipe, overrides)
        if seed is not None:
            cfg = cfg.model_copy(update={"seed": seed})
        if cfg.study is not None:  # many trainings in one entry (nnjournal.studies)
            from nnjournal.studies import run_study

            study_dir, study_summary = run_study(cfg, out, quiet)
            return RunResult(study_dir, cfg, {}, study_summary)

    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    variant_cfgs = cfg.variant_configs()
    # Load (and so validate) every data set before anything is written: bad input must not
    # leave a half-made run directory behind.
    bundles: dict[str, DataBundle] = {}
    for vcfg in variant_cfgs.values():
        if vcfg.ensemble.size > 1 and vcfg.task.name not in ("classification", "regression"):
            raise NNJError(
                f"ensemble.size = {vcfg.ensemble.size}: ensembles combine classifiers or regressors, not "
                f"{vcfg.task.name} models; set ensemble.size = 1"
            )
        if _data_key(vcfg) not in bundles:
            # Autoencoders keep the class labels (plots, anomaly and downstream metrics), so
            # loaders read the target column as classes for them.
            as_task = "classification" if vcfg.task.name in tasks.RECONSTRUCTION_TASKS else vcfg.task.name
            bundles[_data_key(vcfg)] = data_mod.load(vcfg.data, seed=vcfg.seed, task=as_task)
        _preflight(vcfg, bundles[_data_key(vcfg)])
    if resume is None:
        run_dir = create_run_dir(out, cfg.recipe)
        atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
    results: dict[str, VariantResult] = {}
    for name, vcfg in variant_cfgs.items():
        folder = variant_dir(run_dir, name, len(variant_cfgs))
        results[name] = _train_variant(
            name, vcfg, bundles[_data_key(vcfg)], folder, quiet, resume is not None
        )

    first = next(iter(results.values()))
    if cfg.task.name in tasks.RECONSTRUCTION_TASKS:
        fitted_baselines: Any = {}
        baselines = _reconstruction_baselines(cfg, first)
    else:
        fitted_baselines = fit_baselines(first.bundle, cfg.task.name, cfg.evaluation.baselines, cfg.seed)
        baselines = score_baselines(fitted_baselines, first.bundle, cfg.task.name)
    summary = _summary(cfg, results, baselines, started, time.perf_counter() - t0)
    if cfg.evaluation.cv > 1:
        from nnjournal.evaluation.cross_validation import cross_validate

        summary["cross_validation"] = cross_validate(
            first.config, lambda b: details.balanced_class_weights(first.config, b)
        )
    if cfg.journal.plots:
        summary["plots"] = _plots(
            run_dir, results, baselines, summary["headline"]["metric"], fitted_baselines
        )
    summary["conclusion"] = write_conclusion(summary) + details_conclusion(summary)
    if cfg.task.name in tasks.RECONSTRUCTION_TASKS:
        summary["conclusion"] += reconstruction_conclusion(summary)
    summary["timings"]["total_s"] = time.perf_counter() - t0
    atomic_write_json(run_dir / "summary.json", summary)  # marks the run finished
    render_report(run_dir)
    write_index(run_dir.parent)
    for name in results:  # a finished run needs no resume point; model.safetensors holds the result
        stem = variant_dir(run_dir, name, len(results)) / "checkpoint"
        stem.with_suffix(".json").unlink(missing_ok=True)
        stem.with_suffix(".safetensors").unlink(missing_ok=True)
    return RunResult(run_dir, cfg, results, summary)


def _data_key(cfg: RunConfig) -> str:
    """Variants with the same data section, seed and task share one loaded bundle."""
    return json.dumps(cfg.data.model_dump(mode="json"), sort_keys=True) + f"|{cfg.seed}|{cfg.task.name}"


def _resolve(
    recipe: str | Path | RunConfig | dict[str, Any], overrides: list[str] | tuple[str, ...]
) -> RunConfig:
    if isinstance(recipe, RunConfig):
        recipe = recipe.model_dump(mode="json")
    if isinstance(recipe, dict):
        return validate_config(apply_overrides(recipe, list(overrides)))
    return recipes.load(recipe, overrides)


def _preflight(cfg: RunConfig, bundle: DataBundle) -> None:
    """Check, before a run directory exists, what would otherwise fail only once training (or
    all of it) is done: the device, layer shapes against the data, the augmentation against
    the inputs, the early-stopping monitor, vectorized batch norm, MC dropout. Bad input must
    leave nothing half-written. The random state is put back, so the run's numbers do not
    depend on these probes."""
    with torch.random.fork_rng(devices=[]):
        select_device(cfg.training.device)
        augment = build_augment(cfg.training.augment)
        if augment is not None and len(bundle.train):
            augment(bundle.train.x[:2].clone())  # e.g. rotation asked of feature vectors raises
        reconstruction = cfg.task.name in tasks.RECONSTRUCTION_TASKS
        task = tasks.get(cfg.task if reconstruction else cfg.task.name, bundle.info)
        has_val = bundle.val is not None  # as `fit` decides it
        check_monitor(cfg.training.early_stopping.monitor if has_val else "train_loss", task, has_val)
        if reconstruction:
            # The model's input shape comes from the task's prepared pairs (e.g. low-resolution
            # inputs for super-resolution), made in _train_variant: no model probe here.
            return
        probe = models.build(cfg.model, bundle.info, task.out_features)  # shapes that do not fit raise
        if cfg.ensemble.size > 1:
            should_vectorize(cfg.training.vectorize, [probe])  # true with batch norm raises
        _check_mc_dropout(cfg, probe)


def _check_mc_dropout(cfg: RunConfig, probe: torch.nn.Module) -> None:
    """Refuse MC dropout on a task or model it cannot work on."""
    if cfg.evaluation.mc_dropout:
        if cfg.task.name != "classification":
            raise NNJError(
                "evaluation.mc_dropout: Monte-Carlo dropout is reported for classification; set it to 0"
            )
        if not has_dropout(probe):
            raise NNJError(
                "evaluation.mc_dropout needs dropout in the model: set model.dropout_hidden (MLP) or "
                "model.dropout_head (CNN) above 0, or evaluation.mc_dropout = 0"
            )


def _train_variant(
    name: str, cfg: RunConfig, bundle: DataBundle, folder: Path, quiet: bool, resume: bool
) -> VariantResult:
    folder.mkdir(parents=True, exist_ok=True)
    if cfg.task.name in tasks.RECONSTRUCTION_TASKS:
        task = tasks.get(cfg.task, bundle.info)
        # (input, clean target) pairs; corrupted validation/test inputs for denoisers
        corrupt = build_augment(cfg.training.augment) if is_corrupting(cfg.training.augment) else None
        bundle = task.prepare_data(bundle, corrupt, cfg.seed)
    else:
        task = tasks.get(cfg.task.name, bundle.info, details.balanced_class_weights(cfg, bundle))
    seed_everything(cfg.seed)
    if cfg.ensemble.size > 1:
        return _finish_variant(
            name, cfg, bundle, task, folder, *_train_ensemble_variant(cfg, bundle, task, folder)
        )
    model = models.build(cfg.model, bundle.info, task.out_features)
    metrics_path = folder / "metrics.jsonl"
    checkpoint = folder / "checkpoint"
    if resume and checkpoint.with_suffix(".json").exists():
        done = load_checkpoint(checkpoint)["history"]["records"]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in done))
    elif not resume or not read_jsonl(metrics_path):
        metrics_path.write_text("")

    with open(metrics_path, "a", encoding="utf-8") as log:

        def log_epoch(epoch: int, record: dict[str, Any]) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        history = fit(
            model,
            bundle.train,
            bundle.val,
            task=task,
            config=cfg.training,
            seed=cfg.seed,
            quiet=quiet,
            on_epoch_end=[log_epoch],
            checkpoint=checkpoint,
            resume=resume,
        )
    return _finish_variant(name, cfg, bundle, task, folder, model, history, [])


def _train_ensemble_variant(
    cfg: RunConfig, bundle: DataBundle, task: Any, folder: Path
) -> tuple[Ensemble, History, list[torch.nn.Module]]:
    """`ensemble.size` members (seeds, bagging or snapshots) combined into one model. There is
    no per-epoch checkpoint: `--resume` trains the members again. metrics.jsonl holds member
    0's curves; every member's test metrics go to the summary."""

    def build() -> torch.nn.Module:
        return models.build(cfg.model, bundle.info, task.out_features)

    trained = train_ensemble(
        build,
        bundle.train,
        bundle.val,
        task=task,
        training=cfg.training,
        ensemble=cfg.ensemble,
        seed=cfg.seed,
    )
    history = trained.histories[0]
    history.train_time_s = sum(h.train_time_s for h in trained.histories)
    atomic_write_text(folder / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history.records))
    return trained.model, history, trained.members


def _finish_variant(
    name: str,
    cfg: RunConfig,
    bundle: DataBundle,
    task: Any,
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
            if hasattr(task, "evaluate"):  # metrics that need the inputs or the model (PSNR, ELBO)
                result.metrics[split_name] = task.evaluate(model, split)
                continue
            outputs = predict_outputs(model, split.x)
            result.metrics[split_name] = task.metrics(split.y.cpu().numpy(), outputs)
            if split_name == "test" and task.name == "classification":
                result.test_pred = task.predict(outputs)
    if members:
        test = bundle.test
        y = test.y.cpu().numpy()
        result.members_test = [task.metrics(y, predict_outputs(m, test.x)) for m in members]
    if cfg.evaluation.mc_dropout:
        result.mc_dropout = mc_dropout_report(model, bundle.test, cfg.evaluation.mc_dropout, cfg.seed)
    if cfg.evaluation.downstream and hasattr(task, "prepare_data"):
        result.metrics["test"].update(_downstream(model, bundle, cfg.seed))
    result.threshold = details.pick_threshold(cfg, model, task, bundle)
    if cfg.evaluation.permutation_importance and hasattr(bundle.preprocessing, "feature_groups"):
        result.importance = details.column_importance(
            model, task, bundle.test, bundle.preprocessing.feature_groups(), cfg.seed
        )
    save_model(
        folder,
        model,
        cfg.model,
        cfg.task.name,
        bundle.info,
        bundle.preprocessing,
        threshold=result.threshold["value"] if result.threshold else None,
        ensemble=cfg.ensemble if members else None,
    )
    return result


def _downstream(model: torch.nn.Module | None, bundle: DataBundle, seed: int) -> dict[str, float]:
    """Downstream accuracy of classifiers on the model's codes (or the raw inputs if None)."""
    from nnjournal.evaluation.reconstruction import downstream_scores

    def features(x: torch.Tensor) -> np.ndarray:
        f = predict_outputs(model, x).code if model is not None else x
        return f.float().cpu().reshape(len(x), -1).numpy()

    tr, te = bundle.train, bundle.test
    return downstream_scores(
        features(tr.x), tr.labels.cpu().numpy(), features(te.x), te.labels.cpu().numpy(), seed
    )


def _reconstruction_baselines(cfg: RunConfig, first: VariantResult) -> dict[str, Any]:
    """Mean image, PCA at the code size, classical filters (evaluation/reconstruction.py)."""
    m = cfg.model
    k = cfg.evaluation.pca_components or getattr(m, "code_size", None) or getattr(m, "latent", None)
    if getattr(m, "kind", "dense") == "conv" and not cfg.evaluation.pca_components:
        k = None  # a conv code is a feature map, not a size PCA can match; ask for it explicitly
    anomaly = getattr(first.bundle.test, "anomaly", None)
    out = run_reconstruction_baselines(first.bundle, cfg.evaluation.baselines, k, cfg.seed, anomaly)
    if cfg.evaluation.downstream:
        out["raw inputs"] = {"mse": float("nan"), **_downstream(None, first.bundle, cfg.seed)}
    return out


def _describe_model(cfg: RunConfig) -> str:
    single = _describe_single_model(cfg)
    e = cfg.ensemble
    if e.size > 1:
        how = {
            "seeds": "different seeds",
            "bagging": "bootstrap samples",
            "snapshot": "cosine-cycle snapshots",
        }
        combine = "majority vote" if e.combine == "vote" else "averaged probabilities"
        combine = combine if cfg.task.name == "classification" else "averaged outputs"
        return f"ensemble of {e.size} ({how[e.method]}, {combine}) of: {single}"
    return single


def _describe_single_model(cfg: RunConfig) -> str:
    m = cfg.model
    if m.name in ("autoencoder", "vae"):
        return autoencoder_plots.describe_model(m)
    if m.name == "mlp":
        parts = [f"MLP hidden {m.hidden}", m.activation]
        if m.init != "default":
            parts.append(f"{m.init} init")
        if m.dropout_input or m.dropout_hidden:
            parts.append(f"dropout {m.dropout_input:g} input / {m.dropout_hidden:g} hidden")
        if m.norm != "none":
            parts.append(f"{m.norm} norm {m.norm_placement.replace('_', ' ')}")
        if m.noise_hidden:
            parts.append(f"Gaussian noise σ {m.noise_hidden:g} on hidden activations")
        return ", ".join(parts)
    if m.name == "perceptron":
        return "single-layer perceptron (linear)"
    return describe_cnn(m)


def _describe_training(cfg: RunConfig, history: History) -> str:
    t = cfg.training
    o = t.optimizer
    opt = (
        f"{o.name} lr {o.lr:g}"
        + (f" momentum {o.momentum:g}" if o.momentum else "")
        + (" nesterov" if o.nesterov else "")
    )
    batch = {
        "batch": "batch GD (whole set per step)",
        "stochastic": "stochastic GD (one example per step)",
    }.get(t.regime, f"mini-batch GD, batch {t.batch_size}")
    snapshots = cfg.ensemble.size > 1 and cfg.ensemble.method == "snapshot"
    if snapshots:  # the ensemble's training replaces schedule and early stopping (ensemble.py)
        cycle = snapshot_cycle_epochs(t.epochs, cfg.ensemble.size)
        parts = [opt, batch, f"{cfg.ensemble.size} cosine cycles of {cycle} epochs, a snapshot after each"]
    else:
        parts = [opt, batch, f"{history.to_dict()['epochs_run']}/{t.epochs} epochs"]
    if t.schedule.name != "none" and not snapshots:
        parts.append(f"{t.schedule.name} lr schedule")
    penalty = WeightPenalty(t.penalty.l1, t.penalty.l2)
    if penalty:
        parts.append(f"penalty: {penalty.describe()}")
    if o.weight_decay:
        parts.append(f"weight decay {describe_weight_decay(o)}")
    if t.clip.norm or t.clip.value:
        parts.append(f"gradient clipping (norm {t.clip.norm}, value {t.clip.value})")
    if t.label_smoothing:
        parts.append(f"label smoothing {t.label_smoothing:g}")
    if t.max_norm is not None:
        parts.append(f"max-norm {t.max_norm:g} on each unit's incoming weights")
    if t.weight_noise:
        parts.append(f"weight noise σ {t.weight_noise:g}")
    augment = {k: v for k, v in t.augment.model_dump().items() if v and k != "clip"}
    if augment:
        parts.append(
            "augmentation: " + ", ".join(k if v is True else f"{k} {v:g}" for k, v in augment.items())
        )
    if t.early_stopping.patience and not snapshots:
        parts.append(f"early stopping on {t.early_stopping.monitor}, patience {t.early_stopping.patience}")
    if t.early_stopping.restore_best and not snapshots:
        parts.append(f"best epoch by {history.monitor} restored")
    return "; ".join(parts)


def _summary(
    cfg: RunConfig, results: dict[str, VariantResult], baselines: dict[str, Any], started: str, elapsed: float
) -> dict[str, Any]:
    first = next(iter(results.values()))
    metric = first.task.headline
    variants = {}
    for name, r in results.items():
        entry: dict[str, Any] = {
            "model": _describe_model(r.config),
            "n_params": models.count_parameters(r.model),
            "training": _describe_training(r.config, r.history),
            "history": r.history.to_dict(),
            "near_zero_weight_fraction": near_zero_fraction(r.model),
            **r.metrics,
        }
        if r.task.name == "classification":
            y = r.bundle.test.y.cpu().numpy()
            entry["confusion"] = confusion(y, r.test_pred, r.bundle.info.n_classes).tolist()
        if details.is_binary(r.task):
            entry["binary"] = details.binary_details(r.model, r.task, r.bundle, r.threshold)
        if r.importance is not None:
            entry["permutation_importance"] = r.importance
        if r.members_test:
            e = r.config.ensemble
            entry["ensemble"] = {
                "size": e.size,
                "method": e.method,
                "combine": e.combine,
                "members_test": r.members_test,
            }
        if r.mc_dropout is not None:
            entry["mc_dropout"] = {k: v for k, v in r.mc_dropout.items() if k not in ("entropy", "correct")}
        variants[name] = entry
    pick = min if lower_is_better(metric) else max
    best = pick(variants, key=lambda n: variants[n]["test"][metric])
    info = first.bundle.info
    return {
        "recipe": cfg.recipe,
        "title": cfg.journal.title,
        "aim": cfg.journal.aim,
        "seed": cfg.seed,
        "task": cfg.task.name,
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "data": {
            "description": first.bundle.describe() + f", input shape {list(info.input_shape)}",
            "notes": info.notes,
            "class_names": info.class_names,
        },
        "headline": {"metric": metric, "variant": best, "value": variants[best]["test"][metric]},
        "variants": variants,
        "baselines": baselines,
        "plots": [],
        "timings": {
            "total_s": elapsed,
            **{f"train_s.{n}": r.history.train_time_s for n, r in results.items()},
        },
        "versions": {
            "nnjournal": nnjournal.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }


def _plots(
    run_dir: Path,
    results: dict[str, VariantResult],
    baselines: dict[str, Any],
    metric: str,
    fitted_baselines: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    out = []
    pdir = run_dir / "plots"
    histories = {n: r.history.records for n, r in results.items()}
    best = {n: r.history.best_epoch if r.history.restored_best else None for n, r in results.items()}
    plots.learning_curves(histories, pdir / "curves.png", best)
    out.append({"file": "plots/curves.png", "caption": "Learning curves: train vs validation per epoch"})
    bars = {n: r.metrics["test"][metric] for n, r in results.items()}
    bars.update({f"baseline: {n}": v[metric] for n, v in baselines.items()})
    plots.metric_bars(bars, metric, pdir / "comparison.png")
    out.append({"file": "plots/comparison.png", "caption": f"Test {metric} of each model and baseline"})
    if next(iter(results.values())).task.name in tasks.RECONSTRUCTION_TASKS:
        out += autoencoder_plots.plots_for_run(run_dir, results)
    for name, r in results.items():
        info = r.bundle.info
        suffix = f"_{name}" if len(results) > 1 else ""
        if r.task.name == "classification":
            cm = confusion(r.bundle.test.y.cpu().numpy(), r.test_pred, info.n_classes)
            f = f"plots/confusion{suffix}.png"
            plots.confusion_matrix(
                cm,
                info.class_names or [str(i) for i in range(info.n_classes)],
                f"Confusion matrix on the test split ({name})",
                run_dir / f,
            )
            out.append({"file": f, "caption": f"Confusion matrix, test split: {name}"})
        if details.is_binary(r.task):
            out += _binary_plots(run_dir, name, r, fitted_baselines or {}, suffix)
        if r.importance is not None:
            imp = r.importance
            f = f"plots/importance{suffix}.png"
            plots.permutation_importance(
                imp["columns"], imp["metric"], f"Permutation importance ({name})", run_dir / f
            )
            out.append(
                {"file": f, "caption": f"Drop in test {imp['metric']} when each column is shuffled: {name}"}
            )
        if info.is_image and r.task.name == "classification":
            out += _image_plots(run_dir, name, suffix, r)
        if r.members_test:
            f = f"plots/ensemble{suffix}.png"
            plots.ensemble_members(
                [m[metric] for m in r.members_test],
                r.metrics["test"][metric],
                metric,
                f"Ensemble members vs their combined prediction ({name})",
                run_dir / f,
            )
            out.append({"file": f, "caption": f"Each member's test {metric} and the ensemble's: {name}"})
        if r.mc_dropout is not None:
            from nnjournal.journal import study_plots

            f = f"plots/mc_dropout{suffix}.png"
            study_plots.mc_dropout_uncertainty(r.mc_dropout["entropy"], r.mc_dropout["correct"], run_dir / f)
            out.append(
                {
                    "file": f,
                    "caption": f"Monte-Carlo dropout ({r.mc_dropout['samples']} passes): predictive "
                    f"uncertainty on the test split, right vs wrong answers: {name}",
                }
            )
        if r.history.records and "grad_norm" in r.history.records[0]:
            f = f"plots/grad_norms{suffix}.png"
            plots.grad_norms(r.history.records, f"Gradient norm per layer ({name})", run_dir / f)
            out.append({"file": f, "caption": f"Per-layer gradient norms: {name}"})
    first = next(iter(results.values()))
    if (
        first.bundle.info.input_shape == (2,)
        and first.task.name == "classification"
        and first.bundle.info.n_classes == 2
    ):
        panels = {n: _proba_fn(r) for n, r in results.items()}
        x, y = first.bundle.train.x.cpu().numpy(), first.bundle.train.y.cpu().numpy()
        plots.decision_boundaries(panels, x, y, pdir / "decision_boundary.png")
        out.append(
            {
                "file": "plots/decision_boundary.png",
                "caption": "Decision boundary of each model over the input plane",
            }
        )
    return out


def _image_plots(run_dir: Path, name: str, suffix: str, r: VariantResult) -> list[dict[str, str]]:
    """Misclassified test images, per-class accuracy, and for CNNs the first layer's kernels
    and one test image's feature maps."""
    from nnjournal.journal import image_plots

    return image_plots.write_all(run_dir, name, suffix, r.model, r.task, r.bundle)


def _proba_fn(r: VariantResult):
    def fn(grid: np.ndarray) -> np.ndarray:
        return r.task.proba(predict_outputs(r.model, torch.from_numpy(grid)))[:, 1]

    return fn


def _binary_plots(
    run_dir: Path, name: str, r: VariantResult, fitted_baselines: dict[str, Any], suffix: str
) -> list[dict[str, str]]:
    """ROC, precision-recall and reliability curves (network and its probabilistic
    baselines), the threshold trade-off on validation, and the confusion matrix at the
    chosen threshold."""
    out = []
    y = r.bundle.test.y.cpu().numpy()
    x_test = r.bundle.test.x.cpu().reshape(len(r.bundle.test), -1).numpy()
    curves = {name: details.positive_proba(r.model, r.task, r.bundle.test.x)}
    for b_name, model in fitted_baselines.items():
        if b_name in ("logistic regression", "boosted trees"):
            curves[b_name] = baseline_proba(model, x_test, 2)[:, 1]
    positive = (r.bundle.info.class_names or ["0", "1"])[1]
    for kind, caption in (
        ("roc", "ROC curves on the test split, AUC in the legend"),
        (
            "pr",
            f"Precision-recall curves on the test split (positive class {positive!r}), average precision in the legend",
        ),
        ("calibration", "Reliability: observed positive rate against predicted probability (test split)"),
    ):
        f = f"plots/{kind}{suffix}.png"
        getattr(plots, f"{kind}_curves")(y, curves, run_dir / f)
        out.append({"file": f, "caption": caption})
    split = r.bundle.val if r.bundle.val is not None and len(r.bundle.val) else r.bundle.train
    chosen = r.threshold["value"] if r.threshold else None
    f = f"plots/threshold{suffix}.png"
    plots.threshold_tradeoff(
        split.y.cpu().numpy(), details.positive_proba(r.model, r.task, split.x), chosen, run_dir / f
    )
    out.append(
        {"file": f, "caption": "Precision, recall and F1 against the decision threshold (validation split)"}
    )
    if r.threshold:
        cm = np.asarray(
            details.binary_details(r.model, r.task, r.bundle, r.threshold)["at_threshold"]["confusion"]
        )
        f = f"plots/confusion_threshold{suffix}.png"
        plots.confusion_matrix(
            cm,
            r.bundle.info.class_names or ["0", "1"],
            f"Test confusion matrix at threshold {chosen:.3f} ({name})",
            run_dir / f,
        )
        out.append(
            {
                "file": f,
                "caption": f"Confusion matrix at the threshold chosen for {r.threshold['objective']}: {name}",
            }
        )
    return out


def details_conclusion(summary: dict[str, Any]) -> list[str]:
    """Sentences on the decision threshold, column importance and cross-validation, written
    from the numbers in the summary."""
    lines = []
    for name, v in summary["variants"].items():
        b = v.get("binary")
        if b and "at_threshold" in b:
            t, pos = b["threshold"], (summary["data"].get("class_names") or ["0", "1"])[1]
            at, base = b["at_threshold"]["per_class"][pos], b["at_0.5"]["per_class"][pos]
            lines.append(
                f"{name}: the threshold {t['value']:.3f} chosen on the {t['chosen_on']} split for "
                f"{t['objective'].replace('_', ' ')} gives test recall {at['recall']:.3f} and precision "
                f"{at['precision']:.3f} for {pos!r} (at 0.5: recall {base['recall']:.3f}, precision {base['precision']:.3f})."
            )
        imp = v.get("permutation_importance")
        if imp:
            top = [c for c, s in imp["columns"].items() if s["mean"] > 0][:3]
            if top:
                lines.append(
                    f"{name} relies most on {', '.join(top)} (permutation importance by {imp['metric']})."
                )
    headline = summary["headline"]["metric"]
    for name, v in summary["variants"].items():
        e = v.get("ensemble")
        if e and headline in v["test"]:
            scores = [m[headline] for m in e["members_test"]]
            best = min(scores) if lower_is_better(headline) else max(scores)
            beats = v["test"][headline] < best if lower_is_better(headline) else v["test"][headline] > best
            lines.append(
                f"{name}: the ensemble of {e['size']} scores test {headline} {v['test'][headline]:.4f}; its "
                f"members {float(np.mean(scores)):.4f} ± {float(np.std(scores, ddof=1)):.4f} (best {best:.4f})"
                + (" — the combination beats every member." if beats else ".")
            )
        mc = v.get("mc_dropout")
        if mc:
            lines.append(
                f"{name}: Monte-Carlo dropout ({mc['samples']} passes) has test accuracy {mc['accuracy']:.4f} "
                f"(one deterministic pass: {mc['deterministic_accuracy']:.4f}); mean predictive entropy "
                f"{mc['entropy_correct']:.3f} nats on right answers vs {mc['entropy_wrong']:.3f} on wrong ones"
                + (
                    ": it is least sure where it errs."
                    if mc["entropy_wrong"] > mc["entropy_correct"]
                    else "."
                )
            )
    cv = summary.get("cross_validation")
    if cv:
        metric = "roc_auc" if summary["task"] == "classification" else "rmse"
        parts = [
            f"{n} {m[metric]['mean']:.3f} ± {m[metric]['std']:.3f}"
            for n, m in cv["models"].items()
            if metric in m
        ]
        lines.append(f"{cv['folds']}-fold cross-validation, {metric} mean ± std: {'; '.join(parts)}.")
    return lines
