"""Autoencoders as scikit-learn estimators, and an anomaly detector with PyOD's conventions.

    ae = Autoencoder(code_size=32, hidden=(256,)).fit(X)       # X: (n, d) or (n, C, H, W) in 0..1
    Z = ae.transform(X); X_hat = ae.inverse_transform(Z)        # codes and decodings
    ae.reconstruct(X); ae.score_samples(X)                       # higher = more typical
    vae = Autoencoder(variational=True, code_size=5).fit(X)      # transform = the mean, deterministic
    det = AutoencoderAnomalyDetector(contamination=0.05).fit(X_normal)
    det.decision_function(X)  # higher = more anomalous; det.predict(X) -> 0/1; det.threshold_

scikit-learn's rules (`develop.rst`): `__init__` stores its arguments unchanged; everything is
validated and built in `fit`, which trains through `train_one` like any run; `n_features_in_`
is d or C*H*W, and later calls refuse examples of another shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from nnjournal.config import AugmentConfig, AutoencoderModel, TrainingConfig, VAEModel
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.estimators.base import array_bundle, as_tensor, checked_parameters, run_config
from nnjournal.evaluation.reconstruction import per_example_error
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.tasks.vae import VAETask
from nnjournal.training.predict import predict_outputs
from nnjournal.training.trainers import train_one

LOSSES = ("mse", "mae", "bce")


class Autoencoder(TransformerMixin, BaseEstimator):
    """A dense (or conv, `kind="conv"`) autoencoder, or a VAE with `variational=True`.

    `sparsity`/`sparsity_weight` ("l1" or "kl"), `contractive` and the corruptions
    (`noise_std`, `mask_fraction`, `salt_pepper_fraction`, clipped to 0..1) select the
    sparse, contractive and denoising variants; `loss` is mse, mae or bce (ignored by the
    VAE, whose loss is the negative ELBO with a Bernoulli decoder and `beta`).
    `random_state` is the seed when an int (None or a `RandomState` draws one)."""

    def __init__(
        self,
        code_size: int = 32,
        hidden: Sequence[int] = (),
        *,
        kind: str = "dense",
        channels: Sequence[int] = (32, 32),
        activation: str = "relu",
        code_activation: str = "relu",
        output_activation: str = "sigmoid",
        tied: bool = False,
        sparsity: str = "none",
        sparsity_weight: float = 0.0,
        sparsity_target: float = 0.05,
        contractive: float = 0.0,
        variational: bool = False,
        beta: float = 1.0,
        loss: str = "mse",
        noise_std: float = 0.0,
        mask_fraction: float = 0.0,
        salt_pepper_fraction: float = 0.0,
        epochs: int = 30,
        batch_size: int = 128,
        lr: float = 1e-3,
        validation_fraction: float = 0.1,
        device: str = "auto",
        random_state: Any = 0,
    ) -> None:
        self.code_size = code_size
        self.hidden = hidden
        self.kind = kind
        self.channels = channels
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.tied = tied
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive = contractive
        self.variational = variational
        self.beta = beta
        self.loss = loss
        self.noise_std = noise_std
        self.mask_fraction = mask_fraction
        self.salt_pepper_fraction = salt_pepper_fraction
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state

    def _model_config(self) -> AutoencoderModel | VAEModel:
        if self.variational:
            return VAEModel(
                hidden=list(self.hidden) or [256],
                latent=self.code_size,
                activation=self.activation if self.activation != "linear" else "relu",
                output_activation=self.output_activation,
            )
        return AutoencoderModel(
            kind=self.kind,
            hidden=list(self.hidden),
            code_size=self.code_size,
            channels=list(self.channels),
            activation=self.activation,
            code_activation=self.code_activation,
            output_activation=self.output_activation,
            tied=self.tied,
            sparsity=self.sparsity,
            sparsity_weight=self.sparsity_weight,
            sparsity_target=self.sparsity_target,
            contractive=self.contractive,
        )

    def _training_config(self) -> TrainingConfig:
        augment = AugmentConfig(
            noise_std=self.noise_std,
            mask_fraction=self.mask_fraction,
            salt_pepper_fraction=self.salt_pepper_fraction,
            clip=(0.0, 1.0) if (self.noise_std or self.salt_pepper_fraction) else None,
        )
        return TrainingConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer={"name": "adam", "lr": self.lr},
            augment=augment,
            device=self.device,
            checkpoint_every_s=1e9,
        )

    def _check_params(self) -> None:
        """What the config sections do not check (the rest they refuse in `fit`)."""
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")

    def fit(self, X: Any, y: Any = None) -> Autoencoder:
        """Train on X (y is ignored: the targets are X itself)."""
        self._check_params()
        x_np = self._validate_X(X, reset=True)
        if len(x_np) < 2:
            raise ValueError(f"{type(self).__name__}.fit needs at least 2 examples, got {len(x_np)}")
        if self.kind == "conv" and not self.variational and x_np.ndim != 4:
            raise ValueError(f"kind='conv' needs images X of shape (n, C, H, W), got shape {x_np.shape}")
        with checked_parameters(self, {"latent": "code_size"}):
            model_cfg, train_cfg = self._model_config(), self._training_config()
        info = DataInfo("array", self.input_shape_)
        task = VAETask(info, beta=self.beta) if self.variational else Reconstruction(info, self.loss)
        seed = _seed(self.random_state)
        x = as_tensor(x_np)
        order = np.random.default_rng(seed).permutation(len(x))
        n_val = int(len(x) * self.validation_fraction) if len(x) >= 20 else 0
        val_idx, tr_idx = order[:n_val], order[n_val:]
        train = Split(x[tr_idx], x[tr_idx])
        val = Split(x[val_idx], x[val_idx]) if n_val else None
        self.task_ = task
        self.model_, self.history_ = train_one(
            run_config(model_cfg, train_cfg, seed), array_bundle(train, val, info), task
        )
        self.model_.eval()
        return self

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """X as float32 (n, d) or (n, C, H, W); `reset` (in fit) records its shape, later calls
        refuse another one, as scikit-learn's estimators refuse another feature count."""
        ndim = np.ndim(X)
        if ndim < 2:
            raise ValueError(
                f"{type(self).__name__} expects a 2-D (n, features) or 4-D (n, C, H, W) array, "
                f"got {ndim}-D"
            )
        if ndim == 2:  # scikit-learn's checks, feature names and messages for tables
            x = validate_data(self, X, reset=reset, dtype=np.float32)
        else:
            x = check_array(X, allow_nd=True, dtype=np.float32)
            if reset:
                self.n_features_in_ = int(np.prod(x.shape[1:]))
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        if reset:
            self.input_shape_ = tuple(int(d) for d in x.shape[1:])
        elif tuple(x.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has examples of shape {tuple(x.shape[1:])}, but {type(self).__name__} was "
                f"fitted on examples of shape {self.input_shape_}"
            )
        return x

    def _outputs(self, X: Any) -> Any:
        check_is_fitted(self, "model_")
        return predict_outputs(self.model_, as_tensor(self._validate_X(X, reset=False)))

    def transform(self, X: Any) -> np.ndarray:
        """The code of each example (a VAE's posterior mean: deterministic)."""
        return self._outputs(X).code.float().cpu().numpy()

    @torch.inference_mode()
    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode codes back to inputs' space."""
        check_is_fitted(self, "model_")
        z = as_tensor(check_array(Z, allow_nd=True, dtype=np.float32))
        return self.model_.decode(z.to(next(self.model_.parameters()).device)).float().cpu().numpy()

    def reconstruct(self, X: Any) -> np.ndarray:
        return self._outputs(X).recon.float().cpu().numpy()

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Mean squared error of each example's reconstruction."""
        check_is_fitted(self, "model_")
        x = as_tensor(self._validate_X(X, reset=False))
        return per_example_error(predict_outputs(self.model_, x).recon.cpu(), x).numpy()

    def score_samples(self, X: Any) -> np.ndarray:
        """Higher = more typical (scikit-learn's convention): minus the reconstruction error."""
        return -self.reconstruction_error(X)


class AutoencoderAnomalyDetector(OutlierMixin, Autoencoder):
    """Anomaly detection by reconstruction error with PyOD's conventions: after `fit(X)`,
    `decision_scores_` are the training examples' scores (higher = more anomalous),
    `threshold_` is their (1 - contamination) quantile, `labels_` the 0/1 training labels;
    `decision_function(X)` scores new data and `predict(X)` returns 1 for outliers.

    PyOD's signs, not scikit-learn's (whose detectors predict -1 for outliers and score them
    low): the benchmarks compare it with PyOD's detectors. `score_samples` keeps
    scikit-learn's sign (higher = more typical). The other parameters are `Autoencoder`'s."""

    def __init__(
        self,
        contamination: float = 0.1,
        code_size: int = 32,
        hidden: Sequence[int] = (128,),
        *,
        kind: str = "dense",
        channels: Sequence[int] = (32, 32),
        activation: str = "relu",
        code_activation: str = "relu",
        output_activation: str = "sigmoid",
        tied: bool = False,
        sparsity: str = "none",
        sparsity_weight: float = 0.0,
        sparsity_target: float = 0.05,
        contractive: float = 0.0,
        variational: bool = False,
        beta: float = 1.0,
        loss: str = "mse",
        noise_std: float = 0.0,
        mask_fraction: float = 0.0,
        salt_pepper_fraction: float = 0.0,
        epochs: int = 30,
        batch_size: int = 128,
        lr: float = 1e-3,
        validation_fraction: float = 0.1,
        device: str = "auto",
        random_state: Any = 0,
    ) -> None:
        super().__init__(
            code_size,
            hidden,
            kind=kind,
            channels=channels,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            tied=tied,
            sparsity=sparsity,
            sparsity_weight=sparsity_weight,
            sparsity_target=sparsity_target,
            contractive=contractive,
            variational=variational,
            beta=beta,
            loss=loss,
            noise_std=noise_std,
            mask_fraction=mask_fraction,
            salt_pepper_fraction=salt_pepper_fraction,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            validation_fraction=validation_fraction,
            device=device,
            random_state=random_state,
        )
        self.contamination = contamination

    def fit(self, X: Any, y: Any = None) -> AutoencoderAnomalyDetector:
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination must be in (0, 0.5], got {self.contamination!r}")
        super().fit(X)
        self.decision_scores_ = self.reconstruction_error(X)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return self.reconstruction_error(X)

    def predict(self, X: Any) -> np.ndarray:
        return (self.decision_function(X) > self.threshold_).astype(int)


def _seed(random_state: Any) -> int:
    """The seed of a fit: an int `random_state` is the seed itself (`random_state=0` trains as a
    recipe with `seed = 0`); None or a `RandomState` draws one."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
