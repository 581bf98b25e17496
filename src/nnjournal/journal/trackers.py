"""Experiment trackers (`training.loggers = ["tensorboard", "mlflow"]`): the journal entry,
mirrored into the tools practitioners already watch.

A run opens one `RunTrackers`; each variant trains with its `VariantTracker`, a `Callback`
that sends every numeric scalar of the epoch record (nested dicts such as `grad_norm` as
`grad_norm/<layer>`) and, to TensorBoard, histograms of the activations (with
`log_activation_stats`) and of the last step's gradients (with `log_grad_norms`). When the
entry is written, `finish` adds the final test metrics and the files (MLflow artifacts: the
report, summary.json, config.toml, plots and the model). Several variants get one
TensorBoard folder and one nested MLflow run each; a study gets its settings' test numbers.

The trackers are optional extras imported only when asked for, so a run without loggers
never imports tensorboard or mlflow."""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from nnjournal.debugging.activations import activation_modules
from nnjournal.errors import NNJError
from nnjournal.journal.run_dir import variant_dir
from nnjournal.training.callbacks import Callback

# logger name -> (module to import, the extra that installs it)
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}
SAMPLE = 1024  # training inputs whose activations are histogrammed (as activation_stats measures)
# Values per histogram: a CNN layer's outputs on 1,024 images are ~25M floats; an even stride
# through them draws the same shape at a fraction of the memory and time.
HIST_VALUES = 100_000
SKIPPED_FILES = ("checkpoint",)  # resume points, deleted when the run finishes


def check_loggers(training: Any) -> None:
    """Refuse, before anything is written, a logger whose package is not installed, or a
    tracking URI MLflow cannot use (`training` is the `[training]` section)."""
    for name in training.loggers:
        module, extra = PACKAGES[name]
        try:
            importlib.import_module(module)
        except ImportError:
            raise NNJError(
                f"training.loggers = [{name!r}] needs the {module} package: pip install 'nnjournal[{extra}]' "
                f"(or remove {name!r} from training.loggers)"
            ) from None
    if "mlflow" in training.loggers:
        from nnjournal.journal.mlflow_tracker import check_tracking_uri

        check_tracking_uri(training)


class Sink(Protocol):
    """One variant's stream in one tracker."""

    histograms: bool  # whether `epoch` uses histograms (they are computed only when one does)

    def params(self, flat: dict[str, Any]) -> None: ...

    def epoch(self, step: int, scalars: dict[str, float], histograms: dict[str, np.ndarray]) -> None: ...

    def finish(self, metrics: dict[str, float], files: dict[str, Path]) -> None:
        """The final numbers (`test_accuracy`, ...) and the variant's own files."""

    def close(self, status: str) -> None: ...


def flatten(tree: dict[str, Any], sep: str = ".", prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level: `{"optimizer": {"lr": 1e-3}}` -> `{"optimizer.lr": 1e-3}`."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, sep, name))
        else:
            out[name] = value
    return out


def config_params(cfg: Any) -> dict[str, str | int | float | bool]:
    """The resolved config as flat parameters; lists, empty tables and unset values as JSON
    text (`[256, 128]`, `null`), which both trackers accept."""
    flat = flatten(cfg.model_dump(mode="json"))
    return {k: v if isinstance(v, str | int | float | bool) else json.dumps(v) for k, v in flat.items()}


def epoch_scalars(record: dict[str, Any]) -> dict[str, float]:
    """Every number of an epoch record except the epoch itself (the step), nested dicts as
    `outer/inner`; strings, unset values and booleans are left out."""
    flat = flatten({k: v for k, v in record.items() if k != "epoch"}, sep="/")
    return {
        k: float(v) for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def run_files(folder: Path, *, skip: Iterable[str] = ()) -> dict[str, Path]:
    """The files under `folder` as {relative path: path}, leaving out resume points, the
    trackers' own folders, temp files and `skip` (top-level names)."""
    leave_out = {*skip, "tensorboard"}
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (
            path.is_file()
            and rel.parts[0] not in leave_out
            and not path.name.startswith((".", *SKIPPED_FILES))
            and ".tmp" not in path.name
        ):
            files[rel.as_posix()] = path
    return files


@torch.no_grad()
def activation_values(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Every activation layer's outputs on `x`, in evaluation mode (no dropout, no batch-norm
    update), under a forked RNG so the run's numbers do not depend on being tracked."""
    values: dict[str, list[torch.Tensor]] = {}

    def hook(name: str):  # noqa: ANN202
        def keep(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            values.setdefault(name, []).append(out.detach().reshape(-1))

        return keep

    handles = [m.register_forward_hook(hook(n)) for n, m in activation_modules(model).items()]
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        with torch.random.fork_rng(devices=[]):
            model.eval()
            model(x.to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {name: thinned(torch.cat(v)) for name, v in values.items()}


def thinned(t: torch.Tensor, limit: int = HIST_VALUES) -> np.ndarray:
    """At most `limit` of `t`'s values, every k-th, as float32 numpy."""
    flat = t.detach().reshape(-1)
    return flat[:: max(1, math.ceil(flat.numel() / limit))].float().cpu().numpy()


class VariantTracker(Callback):
    """One variant's epochs, sent to every sink. Gradients are the last step's of each epoch,
    as the optimizer used them (after clipping): kept by reference from a post-accumulate
    hook, so tracking costs no copy per step."""

    def __init__(self, sinks: list[Sink], sample: torch.Tensor | None, gradients: bool) -> None:
        self.sinks = sinks
        self.sample = sample
        self.gradients = gradients and any(s.histograms for s in sinks)
        self._grads: dict[str, torch.Tensor] = {}
        self._handles: list[Any] = []

    def on_train_begin(self, model: nn.Module, optimizer: Any) -> None:
        if not self.gradients:
            return
        for name, p in model.named_parameters():
            if p.requires_grad and p.dim() > 1:  # the weights `log_grad_norms` reports
                self._handles.append(p.register_post_accumulate_grad_hook(self._keeper(name)))

    def _keeper(self, name: str):  # noqa: ANN202
        def keep(p: torch.Tensor) -> None:
            self._grads[name] = p.grad

        return keep

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: nn.Module | None) -> None:
        if not self.sinks:
            return
        step = int(record.get("epoch", epoch + 1))
        histograms: dict[str, np.ndarray] = {}
        if model is not None and any(s.histograms for s in self.sinks):
            if self.sample is not None and "activation_stats" in record:
                acts = activation_values(model, self.sample)
                histograms.update({f"activations/{n}": v for n, v in acts.items()})
            if "grad_norm" in record:
                histograms.update(
                    {f"gradients/{n}": thinned(g) for n, g in self._grads.items()}
                )
        scalars = epoch_scalars(record)
        for sink in self.sinks:
            sink.epoch(step, scalars, histograms)

    def on_train_end(self, model: nn.Module, history: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles, self._grads = [], {}

    def replay(self, records: Sequence[dict[str, Any]]) -> None:
        """Epochs trained without hooks (vectorized ensemble members): scalars only."""
        for i, record in enumerate(records):
            self.on_epoch_end(i, record, None)


class RunTrackers:
    """The trackers of one run directory, as a context manager: a run that raises closes
    its trackers as failed (killed for Ctrl-C), one that finishes as finished."""

    def __init__(self, cfg: Any, run_dir: Path, variants: Sequence[str], *, resume: bool = False) -> None:
        self.cfg, self.run_dir, self.variants = cfg, run_dir, list(variants)
        self.backends: list[Any] = []
        names = list(dict.fromkeys(cfg.training.loggers))
        if "tensorboard" in names:
            from nnjournal.journal.tensorboard_tracker import TensorBoardRun

            self.backends.append(TensorBoardRun(cfg, run_dir, nested=len(self.variants) > 1))
        if "mlflow" in names:
            from nnjournal.journal.mlflow_tracker import MlflowRun

            several, params = len(self.variants) > 1, config_params(cfg)
            self.backends.append(MlflowRun(cfg, run_dir, nested=several, params=params, resume=resume))
        self.sinks: dict[str, list[Sink]] = {}
        self.trackers: dict[str, VariantTracker] = {}

    def __enter__(self) -> RunTrackers:
        return self

    def callback(self, name: str, cfg: Any, bundle: Any) -> VariantTracker:
        """The variant's epoch hook (one that does nothing without loggers)."""
        if not self.backends:
            return VariantTracker([], None, gradients=False)
        sinks = [backend.variant(name) for backend in self.backends]
        flat = config_params(cfg)
        for sink in sinks:
            sink.params(flat)
        sample = bundle.train.x[:SAMPLE] if cfg.training.log_activation_stats else None
        self.sinks[name] = sinks
        self.trackers[name] = VariantTracker(sinks, sample, cfg.training.log_grad_norms)
        return self.trackers[name]

    def finish(self, test_metrics: dict[str, dict[str, float]]) -> None:
        """The written entry: each variant's test metrics and files, then the run's files."""
        several = len(self.variants) > 1
        for name, sinks in self.sinks.items():
            folder = variant_dir(self.run_dir, name, len(self.variants))
            files = run_files(folder) if several else {}
            test = {f"test_{k}": v for k, v in _finite(test_metrics.get(name, {})).items()}
            for sink in sinks:
                sink.finish(test, files)
        top = run_files(self.run_dir, skip=("variants",))
        for backend in self.backends:
            backend.finish(top)

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        status = "FINISHED" if kind is None else "KILLED" if kind is KeyboardInterrupt else "FAILED"
        if kind is not None and kind.__name__ == "TrainingInterrupted":
            status = "KILLED"
        for sinks in self.sinks.values():
            for sink in sinks:
                sink.close(status)
        for backend in self.backends:
            backend.close(status)


def track_study(cfg: Any, run_dir: Path, summary: dict[str, Any]) -> None:
    """A finished study: each setting's test numbers (from summary.json) as one variant, and
    the study's report and summary as the run's files. Its trainings run in worker
    processes inside the study, so there are no per-epoch curves."""
    if not cfg.training.loggers:
        return
    settings = summary.get("variants", {})
    with RunTrackers(cfg, run_dir, list(settings) or ["study"]) as trackers:
        flat = config_params(cfg)
        for name in settings:
            trackers.sinks[name] = [backend.variant(name) for backend in trackers.backends]
            for sink in trackers.sinks[name]:
                sink.params({**flat, "setting": name})
        for name, sinks in trackers.sinks.items():
            rows = _finite(settings[name].get("test", {}))  # already named: test_error, gap, ...
            for sink in sinks:
                sink.finish(rows, {})
        top = run_files(run_dir)
        for backend in trackers.backends:
            backend.finish(top)


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }
