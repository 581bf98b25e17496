"""nnjournal: learn, run and compare deep-learning experiments.

import nnjournal as nnj
result = nnj.run("digits-mlp", ["training.epochs=20"])
print(result.test_metrics, result.run_dir)
"""

__version__ = "0.1.0"

from nnjournal.autoencoder import Autoencoder, AutoencoderAnomalyDetector  # noqa: E402
from nnjournal.config import RunConfig  # noqa: E402
from nnjournal.data import DataBundle, Split, load  # noqa: E402
from nnjournal.errors import NNJError  # noqa: E402
from nnjournal.experiment import RunResult, run  # noqa: E402
from nnjournal.models import MLP, Perceptron  # noqa: E402
from nnjournal.saved_model import TrainedModel, load_model  # noqa: E402
from nnjournal.training.fit import fit  # noqa: E402
from nnjournal.training.history import History  # noqa: E402
from nnjournal.training.predict import predict_outputs  # noqa: E402

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
