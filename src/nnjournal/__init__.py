"""nnjournal: learn, run and compare deep-learning experiments.

import nnjournal as nnj
result = nnj.run("digits-mlp", ["training.epochs=20"])
print(result.test_metrics, result.run_dir)
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = metadata.version("nnjournal")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree on sys.path, never installed
    __version__ = "0+unknown"

# Public name -> the module that defines it. Importing any of these pulls in torch (about 4 s on
# a 2-core machine), so they are imported on first use (PEP 562) and `import nnjournal`, hence
# `nnj --help`, stays quick.
_LAZY: dict[str, str] = {
    "Autoencoder": "nnjournal.estimators",
    "AutoencoderAnomalyDetector": "nnjournal.estimators",
    "RunConfig": "nnjournal.config",
    "DataBundle": "nnjournal.data",
    "Split": "nnjournal.data",
    "load": "nnjournal.data",
    "NNJError": "nnjournal.errors",
    "RunResult": "nnjournal.experiment",
    "run": "nnjournal.experiment",
    "MLP": "nnjournal.models",
    "Perceptron": "nnjournal.models",
    "TrainedModel": "nnjournal.saved_model",
    "load_model": "nnjournal.saved_model",
    "History": "nnjournal.training.history",
    "fit": "nnjournal.training.fit",
    "predict_outputs": "nnjournal.training.predict",
}

__all__ = [
    "Autoencoder",
    "AutoencoderAnomalyDetector",
    "DataBundle",
    "History",
    "MLP",
    "NNJError",
    "Perceptron",
    "RunConfig",
    "RunResult",
    "Split",
    "TrainedModel",
    "fit",
    "load",
    "load_model",
    "predict_outputs",
    "run",
    "__version__",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; never executed
    from nnjournal.config import RunConfig
    from nnjournal.data import DataBundle, Split, load
    from nnjournal.errors import NNJError
    from nnjournal.estimators import Autoencoder, AutoencoderAnomalyDetector
    from nnjournal.experiment import RunResult, run
    from nnjournal.models import MLP, Perceptron
    from nnjournal.saved_model import TrainedModel, load_model
    from nnjournal.training.fit import fit
    from nnjournal.training.history import History
    from nnjournal.training.predict import predict_outputs


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        # AttributeError (not KeyError) so that `from nnjournal import data` falls back to
        # importing the submodule, as the import system expects.
        raise AttributeError(f"module 'nnjournal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
