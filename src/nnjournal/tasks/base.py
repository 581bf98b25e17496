"""What a task is: everything that depends on the kind of problem, so trainers, the experiment
and the journal never branch on it.

A task owns
- its step: `training_step(model, batch, state)` -> `StepOutput` (the loss to back-propagate,
  the sums to log, the count they cover, state for the next batch), and
  `evaluation_step(model, batch)` -> `StepOutput`, summed by the trainer over chunks;
- which way each of its metrics is better (`directions`), so early stopping and the report
  never guess from a name;
- its data preparation, final metrics, baselines, report sections and conclusion sentences.

`SupervisedTask` supplies the step for a model called as `model(batch.x)` and a loss
`loss(outputs, targets)`; the classification, regression and reconstruction tasks build on it.
A task may name another trainer (`trainer = "adversarial"`) in `training.TRAINERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import torch

if TYPE_CHECKING:
    from pathlib import Path

    from nnjournal.data.bundle import DataBundle, Split

Direction = Literal["min", "max"]


@dataclass
class StepOutput:
    """One step's result. `loss` is what the trainer back-propagates (a mean over `count`);
    `sums` are detached totals over the batch (`{"loss": loss * count, "accuracy": n_right}`),
    or `Deferred` ones, logged per epoch as `sum / count`; `count` is examples, or tokens for per-token losses;
    `state` is handed to the next batch's step (a recurrent network's hidden state)."""

    loss: torch.Tensor
    sums: dict[str, torch.Tensor]
    count: int | torch.Tensor
    state: Any = None


@dataclass(slots=True)
class Deferred:
    """A training sum left for the epoch's end. The trainer keeps each batch's `parts` (detached
    tensors, counts) and calls `reduce([parts of batch 1, parts of batch 2, ...])` once per
    epoch for the total. The numbers are those of summing batch by batch, without the few
    small kernels per step that costs (on a small network they are ~5% of a step). Only for
    parts that are small beside the data (a loss, class logits; not reconstructions)."""

    reduce: Callable[[list[tuple[Any, ...]]], float]
    parts: tuple[Any, ...]


def epoch_total(values: list[torch.Tensor | Deferred]) -> float:
    """One epoch's per-batch sums added up: in order in float32 (float64 for float64 sums),
    exactly as `total += value` on the device would, with one transfer per epoch instead of an
    addition kernel per batch; `Deferred` sums are reduced over the epoch at once."""
    if isinstance(values[0], Deferred):
        return values[0].reduce([v.parts for v in values])
    return _in_order(torch.stack(values))


def per_count(task: Any, totals: dict[str, float], count: float, prefix: str = "") -> dict[str, float]:
    """An epoch's (or a split's) summed step values as the numbers to log: `sum / count` each,
    unless the task derives its numbers from the sums itself (`metrics_from_sums(totals,
    count)`: ratios of sums such as a mean IoU from intersection and union pixel counts, exact
    over the whole split instead of a mean of per-batch ratios)."""
    derive = getattr(task, "metrics_from_sums", None)
    values = derive(totals, count) if derive is not None else {n: v / count for n, v in totals.items()}
    return {f"{prefix}{name}": value for name, value in values.items()}


def mean_times_count(batches: list[tuple[torch.Tensor, int]]) -> float:
    """The `Deferred` reduce of a loss: sum over batches of (mean loss x examples), each product
    rounded and added in order in the loss's precision, as `total += loss * n` would be."""
    means = torch.stack([mean for mean, _ in batches])
    return _in_order(means, [count for _, count in batches])


def _in_order(values: torch.Tensor, weights: list[int] | None = None) -> float:
    values_np = values.detach().cpu().numpy()
    dtype = np.float64 if values_np.dtype == np.float64 else np.float32  # (float16/bf16 add up in float32)
    values_np = values_np.astype(dtype)
    if weights is not None:
        values_np = values_np * np.asarray(
            weights, dtype=dtype
        )  # one rounding per product, like the device's
    return float(np.add.accumulate(values_np)[-1])  # accumulate: in order, not pairwise


class Task(Protocol):
    name: str
    headline: str  # the metric a report leads with
    directions: dict[str, Direction]  # every logged or reported metric -> which way is better
    out_features: int
    trainer: str  # a key of training.trainers.TRAINERS: "supervised" (training/fit.py) unless the task says
    logged: list[str]  # per-epoch numbers (train_/val_ prefixed) early stopping may watch

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any) -> StepOutput: ...

    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput: ...

    # (a task with `stateful = True` takes `evaluation_step(model, batch, state)` and gets the
    # state of the previous chunk of `Split.eval_chunks`, like training's carried state)
    # (a task with `metrics_from_sums(totals, count) -> dict` derives its logged numbers from an
    # epoch's or a split's summed step values itself, e.g. a mean IoU from summed intersection
    # and union counts; without it each number is `sum / count`: see `per_count`)

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]: ...


class JournalHooks:
    """The journal hooks every task may give, with their do-nothing defaults; a task class
    inherits this and overrides the ones it needs."""

    # what of `[evaluation]` the task acts on; other values are refused before a run starts
    # (evaluation/unused_settings.py) instead of being dropped without a word
    baseline_names: tuple[str, ...] = ()  # entries of evaluation.baselines its `baselines` makes
    evaluation_options: frozenset[str] = frozenset()  # e.g. "threshold", "downstream"

    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        """The bundle as this task trains on it (e.g. (input, clean target) pairs)."""
        return bundle

    def baselines(self, bundle: DataBundle, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(fitted baseline models, their test metrics) to show beside the network."""
        return {}, {}

    def summary_extras(self, result: Any) -> dict[str, Any]:
        """Task-specific entries of a variant in summary.json (a confusion matrix, ...)."""
        return {}

    def plots(self, run_dir: Path, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        """Report figures: files written under run_dir, as {"file", "caption"}."""
        return []

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        """Sentences for the report's conclusion, written from the summary's numbers."""
        return []

    def finish(self, result: Any, cfg: Any) -> None:
        """After the metrics: anything else the task computes on the trained model (kept on
        `result`, e.g. test predictions, a decision threshold)."""

    def fitted(self) -> dict[str, Any]:
        """What the task learned from the training data (a regression target's scaling), as
        JSON saved with the model; `restore` puts it back when the model is loaded."""
        return {}

    def restore(self, fitted: dict[str, Any]) -> None:
        """Take back what `fitted` returned."""

    def describe_model(self, cfg: Any) -> str | None:
        """A line for the model; None = the model family's own description."""
        return None


class SupervisedTask(JournalHooks):
    """The step of a model called as `model(x)` with a loss `loss(outputs, y)`: forward ->
    loss, sums weighted by examples. Subclasses give `loss`, `batch_score` (the per-epoch
    score's sum over a batch, or None) and `metrics`; journal hooks default to nothing."""

    name = "supervised"
    headline = "loss"
    score_name: str | None = None  # what batch_score sums, logged as train_/val_<name>
    directions: dict[str, Direction] = {"loss": "min"}
    out_features = 1
    trainer = "supervised"
    train_loss: Any = None  # a different training loss (label smoothing); None = `loss`
    data_kind = "classification"  # how loaders read the target column: class labels or numbers
    defer_score = False  # training's batch_score at the epoch's end (`Deferred`): outputs are small
    ensemble_outputs: str | None = None  # "logits" / "values" where members can be combined

    @property
    def report_metrics(self) -> list[str]:
        """The metrics the report tabulates, first the headline (tasks list their own)."""
        return [self.headline, *(m for m in self.directions if m not in (self.headline, "loss"))]

    @property
    def logged(self) -> list[str]:
        """The per-epoch numbers (train_/val_ prefixed) early stopping can watch."""
        return ["loss"] + ([self.score_name] if self.score_name is not None else [])

    # -------------------------------------------------------------- the step
    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        outputs = model(batch.x)
        loss = (self.train_loss or self.loss)(outputs, batch.y)
        return self._step_output(loss, outputs, batch, training=True)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        outputs = model(batch.x)
        # float64 sums: over one chunk, sum / count gives back exactly the chunk's mean loss
        return self._step_output(self.loss(outputs, batch.y).double(), outputs, batch)

    def _step_output(
        self, loss: torch.Tensor, outputs: Any, batch: Split, training: bool = False
    ) -> StepOutput:
        """The step's sums; a training step's are `Deferred` to the epoch's end (the score only
        where `defer_score`: its parts are the outputs)."""
        n = len(batch.y)
        sums: dict[str, Any] = {
            "loss": Deferred(mean_times_count, (loss.detach(), n)) if training else loss.detach() * n
        }
        if self.score_name is not None:
            if training and self.defer_score:
                sums[self.score_name] = Deferred(self._epoch_score, (outputs.detach(), batch.y))
            else:
                sums[self.score_name] = self.batch_score(outputs.detach(), batch.y)
        return StepOutput(loss, sums, n)

    def loss(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def batch_score(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor | None:
        return None

    def _epoch_score(self, batches: list[tuple[Any, torch.Tensor]]) -> float:
        outputs, targets = zip(*batches, strict=True)
        return float(self.batch_score(torch.cat(outputs), torch.cat(targets)))

    # -------------------------------------------------------------- after training
    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        """The task's metrics on a whole split."""
        from nnjournal.training.predict import predict_outputs

        return self.metrics(split.y.cpu().numpy(), predict_outputs(model, split.x))

    def metrics(self, targets: np.ndarray, outputs: Any) -> dict[str, float]:
        raise NotImplementedError


def direction(task: Any, metric: str) -> Direction:
    """Which way `metric` (e.g. `val_accuracy`, `train_loss` or `accuracy`) is better for
    `task`; a metric the task does not declare is an error, never a guess."""
    name = metric
    for prefix in ("train_", "val_", "test_"):
        if name.startswith(prefix) and name[len(prefix) :] in task.directions:
            name = name[len(prefix) :]
            break
    try:
        return task.directions[name]
    except KeyError:
        raise KeyError(
            f"task {task.name!r} does not say whether {metric!r} is better high or low "
            f"(its directions: {', '.join(sorted(task.directions))})"
        ) from None
