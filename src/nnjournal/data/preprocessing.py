"""Fitted input transforms saved with a model as JSON (never pickle), so `nnj predict` and
the Python API turn raw inputs into exactly what the model was trained on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnjournal.data.tabular_encoding import TabularPreprocessing
from nnjournal.errors import NNJError


@dataclass
class Preprocessing:
    """`x -> (x - shift) / scale`, then reshape to `input_shape`. `shift`/`scale` are scalars
    or per-feature vectors fitted on the training split only. `decode`, for models trained on
    image files (image-folder), says how a file became pixels (`size`, `resize`, `color`), so
    `nnj predict` decodes new photos the same way."""

    input_shape: tuple[int, ...]
    shift: np.ndarray | float = 0.0
    scale: np.ndarray | float = 1.0
    # True when shift/scale were fitted on training rows (`standardize`), not fixed in advance:
    # cross-validation then fits them again on each fold's training rows. Not saved: a saved
    # model's transform is replayed, never refitted.
    fitted: bool = field(default=False, compare=False, kw_only=True)
    decode: dict[str, Any] | None = field(default=None, kw_only=True)
    kind = "affine"  # the tag in model.json (class attribute, not a field)

    @classmethod
    def standardize(cls, x_train: np.ndarray, input_shape: tuple[int, ...]) -> Preprocessing:
        flat = x_train.reshape(len(x_train), -1)
        mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        std[std < 1e-8] = 1.0  # constant features (e.g. blank digit corners) stay at zero
        return cls(input_shape, mean.astype(np.float32), std.astype(np.float32), fitted=True)

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Model inputs back to raw inputs, (n, d) float32: `x * scale + shift`."""
        flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        return (flat * self.scale + self.shift).astype(np.float32)

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        n_features = int(np.prod(self.input_shape))
        if x.ndim == 0 or x.size == 0:
            raise NNJError(f"no inputs to predict: got an array of shape {x.shape}, expected (n, {n_features})")
        flat = x.reshape(len(x), -1) if x.ndim > 1 else x.reshape(1, -1)
        if flat.shape[1] != n_features:
            raise NNJError(f"inputs have {flat.shape[1]} features per row, the model expects {n_features}")
        if not np.isfinite(flat).all():
            bad = np.argwhere(~np.isfinite(flat))[0]
            raise NNJError(f"input row {bad[0]}, feature {bad[1]} is not a finite number")
        out = (flat - self.shift) / self.scale
        return out.reshape(len(flat), *self.input_shape).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        def enc(v: np.ndarray | float) -> Any:
            return np.asarray(v).tolist()

        return {
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "shift": enc(self.shift),
            "scale": enc(self.scale),
            **({"decode": self.decode} if self.decode is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        decode = d.get("decode")
        if decode is not None and not isinstance(decode, dict):
            raise ValueError(f"preprocessing.decode should be a JSON object, found {type(decode).__name__}")
        return cls(
            tuple(d["input_shape"]),
            np.asarray(d["shift"], dtype=np.float32),
            np.asarray(d["scale"], dtype=np.float32),
            decode=decode,
        )


# The `kind` tag in model.json -> the class that replays it. Files written before the tag
# existed hold an affine transform.
KINDS: dict[str, Any] = {"affine": Preprocessing, "tabular": TabularPreprocessing}


def preprocessing_from_dict(d: dict[str, Any]) -> Preprocessing | TabularPreprocessing:
    kind = d.get("kind", "affine")
    if kind not in KINDS:
        raise NNJError(f"model.json: unknown preprocessing kind {kind!r} (a newer nnjournal wrote it?)")
    return KINDS[kind].from_dict(d)
