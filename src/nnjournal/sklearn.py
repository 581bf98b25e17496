"""`nnjournal.sklearn`, as users and older code import it: the estimators live in `nnjournal.estimators`."""
from nnjournal.estimators.neural import NeuralClassifier, NeuralRegressor  # noqa: F401
