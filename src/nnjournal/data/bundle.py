"""What every loader returns: tensors split into train/val/test, plus what a model needs to
know about them (`DataInfo`) and how raw inputs become model inputs (`preprocessing`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError


@dataclass
class Split:
    """Inputs `x` (n, *input_shape) as float32, or uint8 pixels for images (n, C, H, W), and
    targets `y` (n,) (int64 labels or float32). Image models turn pixels into floats per batch
    (see `DataInfo.pixel_mean`), so a whole image set stays 4x smaller in memory."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device: torch.device | str) -> Split:
        """Every tensor field moved to `device` (subclasses' extra fields too)."""
        return replace(self, **{f: getattr(self, f).to(device) for f in self._tensor_fields()})

    def take(self, idx: torch.Tensor) -> Split:
        """The examples at `idx`, every per-example field sliced alike (a mini-batch)."""
        if type(self) is Split:  # the hot path of every supervised step
            return Split(self.x[idx], self.y[idx])
        return replace(self, **{f: getattr(self, f)[idx] for f in self._tensor_fields()})

    def batch_indices(
        self, batch_size: int, generator: torch.Generator, device: torch.device | str
    ) -> Iterator[torch.Tensor]:
        """One epoch's mini-batches as index tensors on `device`: a fresh seeded shuffle.
        Splits whose examples must stay in order (truncated BPTT streams) override this."""
        order = torch.randperm(len(self), generator=generator).to(device)
        for start in range(0, len(self), batch_size):
            yield order[start : start + batch_size]

    def eval_chunks(self, chunk: int) -> Iterator[slice | torch.Tensor]:
        """The pieces an evaluation pass walks, in order: contiguous slices of `chunk`
        examples. Ordered streams override this to walk their windows so state carries."""
        for start in range(0, len(self), chunk):
            yield slice(start, start + chunk)

    def n_batches(self, batch_size: int) -> int:
        """How many batches `batch_indices` yields per epoch (for per-batch lr schedules)."""
        return -(-len(self) // batch_size)

    def _tensor_fields(self) -> list[str]:
        return [f.name for f in fields(self) if isinstance(getattr(self, f.name), torch.Tensor)]


@dataclass
class DataInfo:
    name: str
    input_shape: tuple[int, ...]
    n_classes: int | None = None  # None for regression
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    target_name: str = "target"
    notes: list[str] = field(default_factory=list)  # what a loader did that a reader should know
    # Images stored as uint8 pixels (0..255): per-channel mean and std of the training split,
    # which the model's first layer uses to standardize each batch (models.build adds it).
    pixel_mean: list[float] | None = None
    pixel_std: list[float] | None = None
    # Sequences (issue 12): the input token vocabulary's size when x holds ids (embedded by the
    # model), and a forecaster's horizon (its outputs) when the loader fixes it.
    vocab_size: int | None = None
    horizon: int | None = None

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "n_classes": self.n_classes,
            "class_names": self.class_names,
            "feature_names": self.feature_names,
            "target_name": self.target_name,
            "pixel_mean": self.pixel_mean,
            "pixel_std": self.pixel_std,
            "vocab_size": self.vocab_size,
            "horizon": self.horizon,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(
            name=d["name"],
            input_shape=tuple(d["input_shape"]),
            n_classes=d.get("n_classes"),
            class_names=d.get("class_names"),
            feature_names=d.get("feature_names"),
            target_name=d.get("target_name", "target"),
            pixel_mean=d.get("pixel_mean"),
            pixel_std=d.get("pixel_std"),
            vocab_size=d.get("vocab_size"),
            horizon=d.get("horizon"),
        )


@dataclass
class DataBundle:
    train: Split
    val: Split | None
    test: Split
    info: DataInfo
    preprocessing: Preprocessing
    # What the loader read beyond the splits, for tasks that need it (a text's vocabulary and
    # raw streams for the n-gram baselines, a series' transform and values to report in units).
    source: Any = None

    def to(self, device: torch.device | str) -> DataBundle:
        return DataBundle(
            self.train.to(device),
            self.val.to(device) if self.val is not None else None,
            self.test.to(device),
            self.info,
            self.preprocessing,
            self.source,
        )

    def describe(self) -> str:
        val = len(self.val) if self.val is not None else 0
        return f"{self.info.name}: {len(self.train)} train / {val} val / {len(self.test)} test"


def split_indices(
    y: np.ndarray,
    fractions: tuple[float, float],
    seed: int,
    stratify: bool,
    class_names: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/val/test index split; stratified on `y` when it holds class labels.

    A split that cannot be made (no test part, no training rows left, a class too small to
    stratify, fewer test rows than classes) is an `NNJError` naming the setting to change."""
    val_fraction, test_fraction = fractions
    check_split(y, fractions, stratify, class_names)
    idx = np.arange(len(y))
    strat = y if stratify else None
    rest, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=strat)
    val = idx[:0]
    if val_fraction > 0:
        strat_rest = y[rest] if stratify else None
        rel = val_fraction / (1.0 - test_fraction)
        try:
            rest, val = train_test_split(rest, test_size=rel, random_state=seed + 1, stratify=strat_rest)
        except ValueError as err:  # what check_split cannot foresee exactly (rounding per class)
            raise NNJError(
                f"cannot split a validation part of data.val_fraction = {val_fraction:g} off {len(rest)} "
                f"training rows ({err}); add rows or set data.val_fraction = 0"
            ) from None
    return rest, val, test


def check_split(
    y: np.ndarray, fractions: tuple[float, float], stratify: bool, class_names: list[str] | None = None
) -> None:
    """Raise an `NNJError` for train/val/test fractions that cannot split `y` (see `split_indices`)."""
    val_fraction, test_fraction = fractions
    n = len(y)
    if test_fraction <= 0:
        raise NNJError(
            "data.test_fraction = 0 leaves no test split, and every run is scored on one; "
            "set data.test_fraction between 0 and 1 (e.g. 0.2)"
        )
    if val_fraction + test_fraction >= 1:
        raise NNJError(
            f"data.val_fraction = {val_fraction:g} plus data.test_fraction = {test_fraction:g} leaves no "
            "training rows; make their sum less than 1 (e.g. 0.2 and 0.2)"
        )
    # The sizes scikit-learn's train_test_split gives (the test part rounded up).
    n_test = int(np.ceil(test_fraction * n))
    n_rest = n - n_test
    n_val = int(np.ceil(val_fraction / (1 - test_fraction) * n_rest)) if val_fraction > 0 else 0
    n_train = n_rest - n_val
    if n_train < 1 or n_test < 1:
        raise NNJError(
            f"{n} row(s) are too few for a train/val/test split with data.val_fraction = {val_fraction:g} and "
            f"data.test_fraction = {test_fraction:g}; add rows (at least a few per split)"
        )
    if not stratify:
        return
    labels, counts = np.unique(y, return_counts=True)
    k = len(labels)

    def name(label: int) -> str:
        return repr(class_names[int(label)]) if class_names and 0 <= int(label) < len(class_names) else str(label)

    need = 3 if val_fraction > 0 else 2
    small = [(name(c), int(m)) for c, m in zip(labels, counts, strict=True) if m < need]
    if small:
        shown = ", ".join(f"{c} ({m} row{'s' if m != 1 else ''})" for c, m in small[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        raise NNJError(
            f"class(es) {shown}{more} have too few rows for a stratified split: each class needs at least "
            f"{need} (one per split); add rows of those classes, remove them, or merge them into another class"
        )
    for part, size, setting in (("test", n_test, "test_fraction"), ("validation", n_val, "val_fraction")):
        if 0 < size < k:
            raise NNJError(
                f"data.{setting} = {fractions[0 if setting == 'val_fraction' else 1]:g} of {n} rows gives a "
                f"{part} split of {size} row(s), fewer than the {k} classes; a stratified split needs at "
                f"least one row per class: raise data.{setting} or add rows"
            )
    if n_train < k:
        raise NNJError(
            f"{n_train} training row(s) are fewer than the {k} classes; lower data.val_fraction/data.test_fraction "
            "or add rows"
        )


def missing_class_notes(
    splits: dict[str, np.ndarray], n_classes: int, class_names: list[str] | None = None
) -> list[str]:
    """Sentences for the report about classes with no examples in a split ({"test": labels, ...}):
    their metrics there (recall, per-class accuracy) are undefined, and the averages exclude them."""
    notes = []
    for split, labels in splits.items():
        if len(labels) == 0:
            continue
        absent = sorted(set(range(n_classes)) - set(np.unique(labels).tolist()))
        if absent:
            names = [class_names[c] if class_names else str(c) for c in absent]
            shown = ", ".join(repr(str(n)) for n in names[:10]) + (" ..." if len(names) > 10 else "")
            notes.append(
                f"The {split} split has no examples of class(es) {shown}: its metrics say nothing about "
                "them (add data or raise the split's fraction)."
            )
    return notes


def as_split(x: np.ndarray, y: np.ndarray, classification: bool) -> Split:
    return Split(
        torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32),
        torch.as_tensor(y, dtype=torch.int64 if classification else torch.float32),
    )
