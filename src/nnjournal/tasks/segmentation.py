"""Segmentation: a class for every pixel (binary: digit / background; semantic: background or
the digit's class), trained with per-pixel cross-entropy on the model's (n, C, H, W) logits.

Batches are (uint8 image, uint8 class map). A step logs the loss, the pixel accuracy and the
intersection and union pixel counts of every class (`evaluation/segmentation.py`); the task's
`metrics_from_sums` turns the counts summed over an epoch or a split into mean IoU and digit
IoU, so the validation mIoU early stopping watches is the whole split's, computed from its
pixel counts, not a mean of per-chunk scores. `evaluate` walks a split in chunks the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.evaluation.segmentation import iou_metrics, overlap_counts
from nnjournal.tasks.base import Deferred, StepOutput, SupervisedTask, mean_times_count
from nnjournal.training.predict import evaluation_mode, split_chunks

EVAL_CHUNK = 1024  # scenes per evaluation forward pass (a 48x48 SegNet's activations: ~0.5 GB)
# Augmentations that move pixels would move the image but not its mask.
GEOMETRIC_AUGMENT = ("crop_padding", "hflip", "rotation", "zoom", "translate", "cutout", "square_mask")


class Segmentation(SupervisedTask):
    name = "segmentation"
    predicts = "a class map"  # per input, which `nnj predict` does not write (refused early)
    headline = "miou"
    score_name = "pixel_accuracy"
    directions = {"loss": "min", "miou": "max", "digit_iou": "max", "pixel_accuracy": "max"}
    report_metrics = ["miou", "digit_iou", "pixel_accuracy"]
    data_kind = "segmentation"  # loaders: the target is a class map, not a label
    baseline_names = ("dummy", "linear")  # all background; patch logistic regression (Otsu always)

    def __init__(self, info: DataInfo) -> None:
        if info.n_classes is None or info.n_classes < 2 or len(info.input_shape) != 3:
            raise NNJError(
                f"task.name = 'segmentation' needs images with per-pixel classes (data.name = 'digit-scenes'); "
                f"{info.name!r} gives shape {info.input_shape} and {info.n_classes} classes"
            )
        self.n_classes = info.n_classes
        self.class_names = info.class_names
        self.out_features = info.n_classes  # one logit map per class

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: Any = None) -> Segmentation:
        return cls(info)

    @property
    def logged(self) -> list[str]:
        return ["loss", "pixel_accuracy", "miou", "digit_iou"]

    # -------------------------------------------------------------- the step
    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets.long())  # mean over every pixel of the batch

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        logits = model(batch.x)
        loss = self.loss(logits, batch.y)
        return StepOutput(loss, self._sums(loss, logits, batch.y, training=True), len(batch.y))

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        logits = model(batch.x)
        loss = self.loss(logits, batch.y).double()  # float64: sum / count over one chunk is its mean
        return StepOutput(loss, self._sums(loss, logits, batch.y), len(batch.y))

    def _sums(
        self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, training: bool = False
    ) -> dict[str, Any]:
        n = len(y)
        pred = logits.detach().argmax(dim=1)
        hits = (pred == y.long()).double().mean(dim=(1, 2)).sum()  # each scene's pixel accuracy, summed
        return {
            "loss": Deferred(mean_times_count, (loss.detach(), n)) if training else loss.detach() * n,
            "pixel_accuracy": hits,
            **overlap_counts(pred, y, self.n_classes),  # float64 counts: 2^24 pixels pass in one epoch
        }

    def metrics_from_sums(self, totals: dict[str, float], count: float) -> dict[str, float]:
        """Loss and pixel accuracy per scene; mean IoU and digit IoU from the summed counts."""
        plain = {n: v / count for n, v in totals.items() if not _is_count(n)}
        return {**plain, **iou_metrics(totals, self.n_classes)}

    # -------------------------------------------------------------- after training
    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        """Class maps (n, H, W) from logits."""
        return outputs.argmax(dim=1).cpu().numpy()

    def evaluate(self, model: torch.nn.Module, split: Split, chunk: int = EVAL_CHUNK) -> dict[str, float]:
        """loss, pixel accuracy, mean IoU and digit IoU over the whole split, in chunks: counts
        are summed over the chunks before any ratio is taken."""
        totals: dict[str, float] = {}
        with evaluation_mode(model) as device:
            for part in split_chunks(split, chunk, device):
                for name, value in self.evaluation_step(model, part).sums.items():
                    totals[name] = totals.get(name, 0.0) + float(value)
        return self.metrics_from_sums(totals, float(len(split)))

    # -------------------------------------------------------------- data and the journal
    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        moving = [f for f in GEOMETRIC_AUGMENT if getattr(cfg.training.augment, f, 0)]
        if moving:
            raise NNJError(
                f"training.augment.{moving[0]} moves pixels but not the segmentation mask; unset it "
                "(photometric ones, brightness and contrast, are fine)"
            )
        if bundle.train.y.dim() != 3:
            raise NNJError(
                f"task.name = 'segmentation' needs a class map per image as the target; {bundle.info.name!r} "
                f"gives targets of shape {tuple(bundle.train.y.shape[1:])} (use data.name = 'digit-scenes')"
            )
        return bundle

    def baselines(self, bundle: DataBundle, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from nnjournal.tasks import segmentation_journal

        return segmentation_journal.baselines(bundle, self.n_classes, cfg)

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.tasks import segmentation_journal

        return segmentation_journal.plots(run_dir, results, context)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        from nnjournal.tasks import segmentation_journal

        return segmentation_journal.conclusion(summary)

    def describe_model(self, cfg: Any) -> str | None:
        m = cfg.model
        if m.name != "segnet":
            return None
        how = (
            "max-unpooling with the encoder's pooling indices (SegNet)"
            if m.decoder == "unpool"
            else "transposed-conv upsampling + concatenated encoder features (U-Net)"
        )
        return (
            f"encoder-decoder, channels {m.channels}, {m.convs_per_stage} conv 3x3 per stage, 2x2 max pooling; "
            f"decoder: {how}; 1x1 classifier to {self.n_classes} classes"
        )


def _is_count(name: str) -> bool:
    """A pixel count of `overlap_counts` (not a per-scene number)."""
    return name.startswith(("intersection_", "union_", "digit_intersection", "digit_union"))
