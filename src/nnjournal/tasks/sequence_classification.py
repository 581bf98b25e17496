"""Sequence classification (many-to-one) and tagging (many-to-many, one label per step).

Batches are `SequenceSplit`s when sequences have different lengths: the model is then called
as `model(x, lengths)` and packs them, and the tagging loss counts real, scored steps only
(padding and IGNORE targets never enter the loss or its count). Fixed-length splits (MNIST
rows, MNIST-1D) are plain `Split`s and the model is called as `model(x)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.data.bundle import Split
from nnjournal.data.sequences import IGNORE
from nnjournal.evaluation.baselines import KINDS as BASELINE_KINDS
from nnjournal.evaluation.metrics import classification_metrics
from nnjournal.tasks.base import Direction, JournalHooks, StepOutput, SupervisedTask
from nnjournal.tasks.step_check import FirstStepCheck, wrong_data
from nnjournal.training.predict import evaluation_mode, split_chunks


def forward_sequences(model: torch.nn.Module, batch: Split) -> torch.Tensor:
    """`model(x, lengths)` for a batch that carries lengths, else `model(x)`."""
    lengths = getattr(batch, "lengths", None)
    return model(batch.x) if lengths is None else model(batch.x, lengths)


class SequenceClassification(FirstStepCheck, SupervisedTask):
    """One label per sequence, cross-entropy averaged over sequences."""

    name = "sequence_classification"
    headline = "accuracy"
    score_name = "accuracy"
    directions: dict[str, Direction] = {
        "loss": "min", "accuracy": "max", "balanced_accuracy": "max", "f1_macro": "max",
        "precision_macro": "max", "recall_macro": "max", "log_loss": "min", "roc_auc": "max",
        "precision": "max", "recall": "max", "f1": "max",  # two classes: the positive class's
    }
    baseline_names = BASELINE_KINDS  # on the flattened sequences

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.out_features = n_classes

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> SequenceClassification:
        if bundle is not None and (info.n_classes is None or bundle.train.y.ndim != 1):
            raise wrong_data("sequence-classification", "one class label per sequence", info)
        return cls(info.n_classes)

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The classification baselines (majority class, logistic regression, ...) on the
        flattened sequences: what a model without any notion of order gets."""
        from nnjournal.tasks import classification_journal

        return classification_journal.baselines(bundle, cfg)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    defer_score = True  # class logits: an epoch's are small beside the data

    def batch_score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.argmax(1) == targets).sum()

    # nnj predict: a class and its probabilities per sequence (it refused sequence classifiers).
    def proba(self, outputs: torch.Tensor) -> np.ndarray:
        """(n, k) class probabilities."""
        return torch.softmax(outputs.detach().float().cpu(), dim=1).numpy()

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        return self.proba(outputs).argmax(axis=1)

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        outputs = forward_sequences(model, batch)
        loss = (self.train_loss or self.loss)(outputs, batch.y)
        return self._step_output(loss, outputs, batch, training=True)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        outputs = forward_sequences(model, batch)
        return self._step_output(self.loss(outputs, batch.y), outputs, batch)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: Split, batch_size: int = 1024) -> dict[str, float]:
        with evaluation_mode(model) as device:
            chunks = split_chunks(split, batch_size, device)
            logits = torch.cat([forward_sequences(model, b).float().cpu() for b in chunks])
        out = classification_metrics(split.y.cpu().numpy(), torch.softmax(logits, 1).numpy())
        out["loss"] = float(F.cross_entropy(logits, split.y.cpu()))
        return out


class SequenceTagging(FirstStepCheck, JournalHooks):
    """One label per step (B, T); targets equal to IGNORE (and steps past `lengths`) are not
    scored. The loss is the mean over scored steps; sums and count are over scored steps, so
    an epoch's loss is per token whatever the batches' padding."""

    name = "sequence_tagging"
    predicts = "a label per step"  # nnj predict refuses it at once
    headline = "accuracy"
    directions: dict[str, Direction] = {"loss": "min", "accuracy": "max", "sequence_accuracy": "max"}
    trainer = "supervised"

    data_kind = "classification"
    ensemble_outputs = None
    logged = ["loss", "accuracy"]
    report_metrics = ["accuracy", "sequence_accuracy", "loss"]

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.out_features = n_classes

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> SequenceTagging:
        if bundle is not None and (info.n_classes is None or bundle.train.y.ndim != 2):
            raise wrong_data("sequence-tagging", "one class label per step (e.g. data.name = 'copy')", info)
        return cls(info.n_classes)

    def describe_model(self, cfg: Any) -> str | None:
        return None

    @staticmethod
    def scored_targets(batch: Split) -> torch.Tensor:
        """(B, T) targets with padding steps set to IGNORE."""
        y = batch.y
        lengths = getattr(batch, "lengths", None)
        if lengths is None:
            return y
        pad = torch.arange(y.shape[1], device=y.device).unsqueeze(0) >= lengths.to(y.device).unsqueeze(1)
        return y.masked_fill(pad, IGNORE)

    def _step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        logits = forward_sequences(model, batch)  # (B, T, C)
        y = self.scored_targets(batch)
        scored = y != IGNORE
        n = int(scored.sum())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)
        right = ((logits.detach().argmax(-1) == y) & scored).sum()
        return StepOutput(loss, {"loss": loss.detach() * n, "accuracy": right}, n)

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        return self._step(model, batch)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        return self._step(model, batch)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: Split, batch_size: int = 1024) -> dict[str, float]:
        """Per-token loss and accuracy, and the share of sequences with every scored step right."""
        loss_sum, right, count, whole = 0.0, 0.0, 0, []
        with evaluation_mode(model) as device:
            for b in split_chunks(split, batch_size, device):
                out = self._step(model, b)
                loss_sum += float(out.sums["loss"])
                right += float(out.sums["accuracy"])
                count += out.count
                y = self.scored_targets(b)
                wrong = (forward_sequences(model, b).argmax(-1) != y) & (y != IGNORE)
                whole.append((~wrong.any(1)).cpu().numpy())
        return {"loss": loss_sum / count, "accuracy": right / count,
                "sequence_accuracy": float(np.concatenate(whole).mean())}
