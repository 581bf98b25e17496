"""Every scikit-learn estimator nnjournal offers, in one place: MLP classifier and regressor
(`neural.py`), autoencoder and its anomaly detector (`autoencoder.py`). Each inherits
`BaseEstimator`, stores its arguments unchanged, validates in `fit` and trains through
`train_one`, the sequence every run goes through (`base.py`)."""

from nnjournal.estimators.autoencoder import Autoencoder, AutoencoderAnomalyDetector
from nnjournal.estimators.neural import NeuralClassifier, NeuralRegressor

__all__ = ["Autoencoder", "AutoencoderAnomalyDetector", "NeuralClassifier", "NeuralRegressor"]
