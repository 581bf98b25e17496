"""Autoencoders as scikit-learn style estimators, and an anomaly detector with PyOD's
conventions.

    ae = Autoencoder(code_size=32, hidden=(256,)).fit(X)       # X: (n, d) or (n, C, H, W) in 0..1
    Z = ae.transform(X); X_hat = ae.inverse_transform(Z)        # codes and decodings
    ae.reconstruct(X); ae.score_samples(X)                       # higher = more typical
    vae = Autoencoder(variational=True, code_size=5).fit(X)      # transform = the mean, deterministic
    det = AutoencoderAnomalyDetector(contamination=0.05).fit(X_normal)
    det.decision_function(X)  # higher = more anomalous; det.predict(X) -> 0/1; det.threshold_

`__init__` stores its arguments unchanged; everything is validated and built in `fit`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from nnjournal.config import AugmentConfig, AutoencoderModel, TrainingConfig, VAEModel
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.evaluation.reconstruction import per_example_error
from nnjournal.models import build
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.tasks.vae import VAETask
from nnjournal.training.fit import fit
from nnjournal.training.predict import predict_outputs
from nnjournal.training.seeding import seed_everything


class Autoencoder:
    """A dense (or conv, `kind="conv"`) autoencoder, or a VAE with `variational=True`.

    `sparsity`/`sparsity_weight` ("l1" or "kl"), `contractive` and the corruptions
    (`noise_std`, `mask_fraction`, `salt_pepper_fraction`, clipped to 0..1) select the
    sparse, contractive and denoising variants; `loss` is mse, mae or bce (ignored by the
    VAE, whose loss is the negative ELBO with a Bernoulli decoder and `beta`)."""

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
        random_state: int = 0,
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

    # scikit-learn's parameter protocol, without inheriting from BaseEstimator's checks on X
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        names = list(inspect.signature(Autoencoder.__init__).parameters)[1:]
        return {k: getattr(self, k) for k in names}

    def set_params(self, **params: Any) -> Autoencoder:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

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

    def fit(self, X: Any, y: Any = None) -> Autoencoder:
        """Train on X (y is ignored: the targets are X itself)."""
        x = _as_tensor(X)
        if len(x) < 2:
            raise ValueError(f"Autoencoder.fit needs at least 2 examples, got {len(x)}")
        model_cfg = self._model_config()  # pydantic validates every argument here
        augment = AugmentConfig(
            noise_std=self.noise_std,
            mask_fraction=self.mask_fraction,
            salt_pepper_fraction=self.salt_pepper_fraction,
            clip=(0.0, 1.0) if (self.noise_std or self.salt_pepper_fraction) else None,
        )
        train_cfg = TrainingConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer={"name": "adam", "lr": self.lr},
            augment=augment,
            device=self.device,
            checkpoint_every_s=1e9,
        )
        self.input_shape_ = tuple(x.shape[1:])
        info = DataInfo("array", self.input_shape_)
        task = VAETask(info, beta=self.beta) if self.variational else Reconstruction(info, self.loss)
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(x))
        n_val = int(len(x) * self.validation_fraction) if len(x) >= 20 else 0
        val_idx, tr_idx = order[:n_val], order[n_val:]
        train = Split(x[tr_idx], x[tr_idx])
        val = Split(x[val_idx], x[val_idx]) if n_val else None
        seed_everything(self.random_state)
        self.model_ = build(model_cfg, info, task.out_features)
        self.task_ = task
        self.history_ = fit(
            self.model_,
            train,
            val,
            task=task,
            config=train_cfg,
            seed=self.random_state,
            augment=build_augment(augment),
        )
        self.model_.eval()
        return self

    def _outputs(self, X: Any) -> Any:
        self._check_fitted()
        return predict_outputs(self.model_, _as_tensor(X))

    def transform(self, X: Any) -> np.ndarray:
        """The code of each example (a VAE's posterior mean: deterministic)."""
        return self._outputs(X).code.float().cpu().numpy()

    @torch.inference_mode()
    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode codes back to inputs' space."""
        self._check_fitted()
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32).to(next(self.model_.parameters()).device)
        return self.model_.decode(z).float().cpu().numpy()

    def reconstruct(self, X: Any) -> np.ndarray:
        return self._outputs(X).recon.float().cpu().numpy()

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Mean squared error of each example's reconstruction."""
        x = _as_tensor(X)
        return per_example_error(self._outputs(x).recon.cpu(), x).numpy()

    def score_samples(self, X: Any) -> np.ndarray:
        """Higher = more typical (scikit-learn's convention): minus the reconstruction error."""
        return -self.reconstruction_error(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")


class AutoencoderAnomalyDetector(Autoencoder):
    """Anomaly detection by reconstruction error with PyOD's conventions: after `fit(X)`,
    `decision_scores_` are the training examples' scores (higher = more anomalous),
    `threshold_` is their (1 - contamination) quantile, `labels_` the 0/1 training labels;
    `decision_function(X)` scores new data and `predict(X)` returns 1 for outliers."""

    def __init__(
        self, contamination: float = 0.1, code_size: int = 32, hidden: Sequence[int] = (128,), **kw: Any
    ):
        super().__init__(code_size, hidden, **kw)
        self.contamination = contamination

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"contamination": self.contamination, **super().get_params(deep)}

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


def _as_tensor(X: Any) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if x.dim() < 2:
        raise ValueError(
            f"expected a 2-D (n, features) or 4-D (n, C, H, W) array, got shape {tuple(x.shape)}"
        )
    return x
