"""`nnjournal.autoencoder`, as users and older code import it: the estimators live in `nnjournal.estimators`."""
from nnjournal.estimators.autoencoder import Autoencoder, AutoencoderAnomalyDetector  # noqa: F401
