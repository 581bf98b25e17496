"""Data loaders: each turns a data config into a `DataBundle` of in-memory tensors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnjournal.data import sequence_loaders
from nnjournal.data.arrays import load_arrays
from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.cifar import load_cifar10
from nnjournal.data.digits import load_digits
from nnjournal.data.idx import load_idx_images
from nnjournal.data.image_folder import load_image_folder
from nnjournal.data.mnist1d import load_mnist1d
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.data.segmentation_scenes import load_digit_scenes
from nnjournal.data.synthetic import load_xor
from nnjournal.data.tabular import load_csv

__all__ = ["DataBundle", "DataInfo", "Split", "Preprocessing", "load", "LOADERS"]

# name -> loader(config, seed, task) -> DataBundle
LOADERS: dict[str, Callable[[Any, int, str], DataBundle]] = {
    "xor": lambda cfg, seed, task: load_xor(cfg, seed),
    "digits": lambda cfg, seed, task: load_digits(cfg, seed),
    "mnist1d": lambda cfg, seed, task: load_mnist1d(cfg, seed),
    "arrays": lambda cfg, seed, task: load_arrays(cfg, seed, classification=task == "classification"),
    "csv": load_csv,
    "mnist": lambda cfg, seed, task: load_idx_images(cfg, seed),
    "fashion-mnist": lambda cfg, seed, task: load_idx_images(cfg, seed),
    "kmnist": lambda cfg, seed, task: load_idx_images(cfg, seed),
    "cifar10": lambda cfg, seed, task: load_cifar10(cfg, seed),
    "image-folder": lambda cfg, seed, task: load_image_folder(cfg, seed),
}

# ---------------------------------------------------------------------------- recurrent (issue 12)
LOADERS.update({
    "text": lambda cfg, seed, task: sequence_loaders.load_text(cfg, seed),
    "timeseries": lambda cfg, seed, task: sequence_loaders.load_timeseries(cfg, seed),
    "dates": lambda cfg, seed, task: sequence_loaders.load_dates(cfg, seed),
    "adding": lambda cfg, seed, task: sequence_loaders.load_adding(cfg, seed),
    "copy": lambda cfg, seed, task: sequence_loaders.load_copy(cfg, seed),
})

# ---------------------------------------------------------------------------- segmentation (issue 18)
LOADERS["digit-scenes"] = lambda cfg, seed, task: load_digit_scenes(cfg, seed)


def load(cfg: Any, seed: int = 0, task: str = "classification") -> DataBundle:
    """Load a data set from its config section, or by name with default options
    (`load("digits")`)."""
    if isinstance(cfg, str):
        from nnjournal.config import validate_config

        cfg = validate_config({"data": {"name": cfg}}).data
    return LOADERS[cfg.name](cfg, seed, task)
