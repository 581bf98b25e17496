"""Reconstruction: the targets are the clean inputs, the loss compares the model's
reconstruction with them (MSE, MAE or binary cross-entropy), and the model's own
regularization term (sparsity, contraction) is added.

`prepare_data` turns a labelled bundle into (input, clean target) pairs: values scaled to
0..1, optional anomaly set-up (train on one class), optional input transforms (grayscale
for colorization, 2x downsampling for super-resolution) and, when training corrupts its
inputs, a fixed seeded corruption of the validation and test inputs so every run scores the
same noisy test set. Class labels are kept on the splits for plots and anomaly metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError
from nnjournal.evaluation.reconstruction import reconstruction_metrics
from nnjournal.tasks.base import SupervisedTask
from nnjournal.training.predict import predict_outputs


@dataclass
class LabelledSplit(Split):
    """A reconstruction split: `x` what the model sees, `y` the clean target, `labels` the
    original class labels (None when the data has none), `anomaly` 1 = anomalous example."""

    labels: torch.Tensor | None = None
    anomaly: torch.Tensor | None = None


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> floats in 0..1; float data is kept as given (already scaled)."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma of (n, 3, H, W) colour images, (n, 1, H, W)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
    return (x * w[None, :, None, None]).sum(dim=1, keepdim=True)


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling: the low-resolution input a super-resolution model upscales."""
    return F.avg_pool2d(x, 2)


INPUT_TRANSFORMS = {"identity": lambda x: x, "grayscale": grayscale, "downsample2": downsample2}


RECONSTRUCTION_DIRECTIONS = {
    "loss": "min",
    "mse": "min",
    "mae": "min",
    "bce": "min",
    "psnr": "max",
    "ssim": "max",
    "input_mse": "min",
    "corrupted_mse": "min",
    "input_corrupted_mse": "min",
    "input_psnr": "max",
    "input_ssim": "max",
    "roc_auc": "max",
    "pr_auc": "max",
    "code_sensitivity": "min",
    "downstream_logreg_accuracy": "max",
    "downstream_gbm_accuracy": "max",
    "elbo": "max",
    "nll_is": "min",
}


class Reconstruction(SupervisedTask):
    name = "reconstruction"
    # what `nnj predict` would have to write per input (it writes one value per input: refused early)
    predicts = "a reconstruction"
    score_name = "mse"  # tracked per epoch as train_mse / val_mse
    directions = RECONSTRUCTION_DIRECTIONS
    data_kind = "classification"  # loaders keep the class labels (plots, anomaly and downstream metrics)
    baseline_names = ("dummy", "pca", "filter", "inpainting")  # evaluation/reconstruction.py
    evaluation_options = frozenset({"downstream", "pca_components"})
    report_metrics = [
        "mse",
        "psnr",
        "ssim",
        "input_psnr",
        "corrupted_mse",
        "roc_auc",
        "pr_auc",
        "code_mean_activation",
        "code_inactive_fraction",
        "downstream_logreg_accuracy",
        "downstream_gbm_accuracy",
    ]

    def __init__(
        self,
        info: DataInfo,
        loss: str = "mse",
        normal_class: int | None = None,
        input_transform: str = "identity",
        anomaly_share: float | None = None,
        ssim_weight: float = 0.0,
        flip: str = "none",
    ) -> None:
        if loss not in ("mse", "mae", "bce", "psnr"):
            raise NNJError(f"reconstruction loss must be mse, mae, bce or psnr, got {loss!r}")
        self.loss_name = loss
        self.normal_class = normal_class
        self.input_transform = input_transform
        self.anomaly_share = anomaly_share
        self.ssim_weight, self.flip = ssim_weight, flip
        if (flip != "none" or ssim_weight > 0) and len(info.input_shape) != 3:
            raise NNJError(
                f"task.flip and task.ssim_weight need image data (C, H, W), got shape {info.input_shape}; unset them"
            )
        if input_transform != "identity" and len(info.input_shape) != 3:
            raise NNJError(
                f"task.input_transform = {input_transform!r} needs image data (C, H, W), got shape "
                f"{info.input_shape}; set task.input_transform = 'identity'"
            )
        self.headline = "roc_auc" if normal_class is not None else "mse"
        self.target_shape: list[int] | None = None  # the clean images' (C, H, W), set by `pairs`
        self.target_decode: dict[str, Any] | None = None  # how image files became them (image-folder)
        # Output channels for convolutional models (the target's), features for dense ones.
        shape = info.input_shape
        self.out_features = shape[0] if len(shape) == 3 else int(np.prod(shape))

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: Any = None) -> Reconstruction:
        return cls(
            info,
            section.loss,
            section.normal_class,
            section.input_transform,
            section.anomaly_share,
            section.ssim_weight,
            section.flip,
        )

    def fitted(self) -> dict[str, Any]:
        # A loaded model's info holds the *input* shape: grey in, colour out needs the target's
        # channels saved, or `nnj predict` would rebuild a 1-channel decoder. The target images'
        # shape and decoding let `nnj predict` read new photos as the training targets were read.
        return {"out_features": self.out_features, "target_shape": self.target_shape, "target_decode": self.target_decode}

    def restore(self, fitted: dict[str, Any]) -> None:
        self.out_features = int(fitted.get("out_features", self.out_features))
        shape = fitted.get("target_shape")
        self.target_shape = [int(v) for v in shape] if shape else None
        self.target_decode = fitted.get("target_decode")

    def apply_to_images(self, model: torch.nn.Module, pixels: np.ndarray) -> np.ndarray:
        """uint8 (n, C, H, W) images read as the training targets were -> the model's outputs as
        uint8 images of the target's shape: each image scaled to 0..1 and given the training
        input transform (grey for colorization, halved for super-resolution), then reconstructed.
        No corruption is added: a denoiser is given the user's own noisy images."""
        x = INPUT_TRANSFORMS[self.input_transform](to_unit_range(torch.from_numpy(pixels)))
        recon = predict_outputs(model, x).recon.float().clamp(0, 1)
        return (recon.reshape(len(recon), *pixels.shape[1:]) * 255).round().to(torch.uint8).cpu().numpy()

    def check_model(self, model: torch.nn.Module, bundle: DataBundle, cfg: Any) -> None:
        """Refuse, before a run directory exists (experiment._preflight), what would fail at the
        first training step: outputs of another shape than the targets, or a BCE loss on values
        outside 0..1. `model` is an untrained probe."""
        x, y = bundle.train.x[:2], bundle.train.y[:2]
        target = tuple(y.shape[1:])
        try:
            with torch.no_grad():
                out = tuple(model.eval()(to_unit_range(x)).recon.shape[1:])
        except RuntimeError as err:  # e.g. an input skip path added to an output of another size
            first = str(err).splitlines()[0]
            raise NNJError(f"the model does not fit the data ({first}): {_shape_hint(cfg, target)}") from None
        if out != target:
            hint = _shape_hint(cfg, target)
            raise NNJError(f"the model's output per example is {out} but the target is {target}: {hint}")
        if self.loss_name == "bce":
            if getattr(cfg.model, "output_activation", "sigmoid") != "sigmoid":
                raise NNJError(
                    "task.loss = 'bce' needs outputs in 0..1: set model.output_activation = 'sigmoid' "
                    "or task.loss = 'mse'"
                )
            lo, hi = float(bundle.train.y.min()), float(bundle.train.y.max())
            if lo < 0 or hi > 1:
                raise NNJError(
                    f"task.loss = 'bce' needs targets in 0..1, but these range over {lo:.3g}..{hi:.3g} "
                    "(standardized table columns are not probabilities); set task.loss = 'mse'"
                )

    # -------------------------------------------------------------- training
    def reconstruction_loss(self, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "mse":
            return F.mse_loss(recon, target)
        if self.loss_name == "mae":
            return F.l1_loss(recon, target)
        if self.loss_name == "psnr":
            # Minus the mean per-image PSNR (0..1 range), the number the report leads with: unlike
            # the MSE it weighs every image's error on a log scale, so nearly right images
            # (greyish photos in colorization) count as much as the hardest ones.
            err = (recon - target).flatten(1).pow(2).mean(dim=1)
            return 10 * torch.log10(err + 1e-10).mean()
        # No clamp: it would zero the gradient of saturated outputs. PyTorch's BCE already
        # bounds log(0) at -100, and through a sigmoid its gradient is simply (p - y).
        return F.binary_cross_entropy(recon, target)

    def loss(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor:
        loss = self.reconstruction_loss(outputs.recon, targets) + outputs.penalty.mean()
        if self.ssim_weight > 0:
            from nnjournal.evaluation.image_quality import ssim

            loss = loss + self.ssim_weight * (1 - ssim(targets, outputs.recon)).mean()
        return loss

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> Any:
        if self.flip != "none":  # the same draw for input and target, so the pair stays a pair
            x, y = batch.x, batch.y
            n = x.shape[0]
            mirror = (torch.rand(n, device=x.device) < 0.5)[:, None, None, None]
            x, y = torch.where(mirror, x.flip(-1), x), torch.where(mirror, y.flip(-1), y)
            if self.flip == "dihedral":
                if x.shape[-1] != x.shape[-2]:
                    raise NNJError(f"task.flip = 'dihedral' needs square images, got {tuple(x.shape[-2:])}")
                quarter = torch.randint(0, 4, (n,), device=x.device)
                for k in (1, 2, 3):  # x and y are the fresh tensors torch.where made: turn in place
                    turn = quarter == k
                    x[turn], y[turn] = x[turn].rot90(k, (-2, -1)), y[turn].rot90(k, (-2, -1))
            batch = replace(batch, x=x, y=y)
        return super().training_step(model, batch, state)

    def batch_score(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.recon - targets).flatten(1).pow(2).mean(dim=1).sum()

    def predict(self, outputs: Any) -> np.ndarray:
        return outputs.recon.detach().float().cpu().numpy()

    def metrics(self, targets: np.ndarray, outputs: Any) -> dict[str, float]:
        t = torch.as_tensor(targets)
        return reconstruction_metrics(t, outputs.recon, t, code=outputs.code)

    # -------------------------------------------------------------- data and evaluation
    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        """(input, clean target) pairs; when training corrupts its inputs (denoising), the same
        corruption is applied with a fixed seed to the validation and test inputs."""
        from nnjournal.data.augment import build_augment
        from nnjournal.data.corruption import is_corrupting

        augment = cfg.training.augment
        corrupt = build_augment(augment) if is_corrupting(augment) else None
        return self.pairs(bundle, corrupt, cfg.seed)

    def pairs(self, bundle: DataBundle, corrupt: Any = None, seed: int = 0) -> DataBundle:
        """(input, clean target) pairs; `corrupt` is applied with a fixed seed to the
        validation and test inputs."""
        from nnjournal.data.corruption import corrupt_fixed

        transform = INPUT_TRANSFORMS[self.input_transform]
        splits: dict[str, LabelledSplit | None] = {}
        for i, name in enumerate(("train", "val", "test")):
            split: Split | None = getattr(bundle, name)
            if split is None or not len(split):
                splits[name] = None
                continue
            x = to_unit_range(split.x)
            labels = split.y if split.y.dtype == torch.int64 else None
            anomaly = None
            if self.normal_class is not None:
                if labels is None:
                    raise NNJError("task.normal_class needs a data set with class labels; unset it")
                if name == "train" and not bool((labels == self.normal_class).any()):
                    names = bundle.info.class_names or [str(k) for k in range(int(labels.max()) + 1)]
                    shown = ", ".join(f"{k} = {n!r}" for k, n in enumerate(names))
                    raise NNJError(
                        f"task.normal_class = {self.normal_class} is no training example's class; it is a "
                        f"class index ({shown}): choose one of them"
                    )
                if name == "test":
                    anomaly = (labels != self.normal_class).long()
                    if self.anomaly_share is not None:  # a rare class made rarer (data/anomaly_split.py)
                        from nnjournal.data.anomaly_split import keep_anomaly_share

                        keep = keep_anomaly_share(anomaly, self.anomaly_share, seed + 2000)
                        x, labels, anomaly = x[keep], labels[keep], anomaly[keep]
                else:  # the detector learns what normal looks like from normal examples only
                    keep = labels == self.normal_class
                    x, labels = x[keep], labels[keep]
            inputs = transform(x)
            if corrupt is not None and name != "train":
                inputs = corrupt_fixed(inputs, corrupt, seed + 1000 + i)
            # Without a transform or corruption the inputs *are* the targets: no copy.
            splits[name] = LabelledSplit(inputs, x, labels=labels, anomaly=anomaly)
        assert splits["train"] is not None and splits["test"] is not None
        target = tuple(splits["train"].y.shape[1:])
        self.target_shape = list(target) if len(target) == 3 else None  # images: `nnj predict` writes them
        self.target_decode = getattr(bundle.preprocessing, "decode", None)
        # Inputs are now 0..1 floats, so no model-side pixel standardization (ImageModel), and
        # outputs are images, not classes (a saved model must not map them to class names).
        info = replace(
            bundle.info,
            input_shape=tuple(splits["train"].x.shape[1:]),
            pixel_mean=None,
            pixel_std=None,
            class_names=None,
        )
        prep = bundle.preprocessing
        if bundle.train.x.dtype == torch.uint8 and self.input_transform == "identity":
            prep = Preprocessing(info.input_shape, 0.0, 255.0)  # raw pixels -> 0..1, as trained
        return replace(
            bundle,
            train=splits["train"],
            val=splits["val"],
            test=splits["test"],
            info=info,
            preprocessing=prep,
        )

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        out = predict_outputs(model, split.x)
        metrics = reconstruction_metrics(
            split.x, out.recon, split.y, code=out.code, anomaly=getattr(split, "anomaly", None)
        )
        metrics["code_sensitivity"] = code_sensitivity(model, split.x, out.code)
        return metrics

    # -------------------------------------------------------------- the journal's hooks
    def baselines(self, bundle: DataBundle, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from nnjournal.tasks import reconstruction_journal

        return {}, reconstruction_journal.baselines(bundle, cfg)

    def finish(self, result: Any, cfg: Any) -> None:
        if cfg.evaluation.downstream:
            from nnjournal.tasks import reconstruction_journal

            result.metrics["test"].update(reconstruction_journal.downstream(result.model, result.bundle, cfg.seed))

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.journal import autoencoder_plots

        return autoencoder_plots.plots_for_run(run_dir, results)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        from nnjournal.journal.conclusion import reconstruction_conclusion

        return reconstruction_conclusion(summary)

    def describe_model(self, cfg: Any) -> str | None:
        from nnjournal.journal.autoencoder_plots import describe_model

        return describe_model(cfg.model)


def _shape_hint(cfg: Any, target: tuple[int, ...]) -> str:
    """What to change when a reconstruction model's output does not have the target's shape."""
    m, transform = cfg.model, cfg.task.input_transform
    upscale = getattr(m, "upscale", 1)
    if transform == "downsample2" and upscale != 2:
        return "task.input_transform = 'downsample2' halves the input; set model.upscale = 2"
    if transform != "downsample2" and upscale != 1:
        return (
            f"model.upscale = {upscale} makes the output {upscale}x the input's size, but the target has the "
            "input's size; set model.upscale = 1 (upscaling goes with task.input_transform = 'downsample2')"
        )
    if getattr(m, "kind", "dense") in ("conv", "unet") and len(target) == 3:
        levels = len(m.channels)
        return (
            f"the {target[1]}x{target[2]} images pass {levels} 2x2 pooling stage(s) (one per model.channels "
            f"entry), so their sides must be divisible by {2**levels}; change data.size or use fewer stages"
        )
    return "change the model or the data so they agree"


def code_sensitivity(model: torch.nn.Module, x: torch.Tensor, code: torch.Tensor, std: float = 0.05) -> float:
    """How far the code moves per unit of input perturbation, ||f(x + d) - f(x)|| / ||d|| with
    d ~ N(0, std^2) (seeded): what a contractive penalty shrinks."""
    from nnjournal.data.corruption import corrupt_fixed

    noisy = corrupt_fixed(x, lambda t: t + std * torch.randn_like(t), seed=12345)
    moved = predict_outputs(model, noisy).code.cpu() - code.cpu()
    delta = (noisy - x).flatten(1).norm(dim=1).cpu()
    return float((moved.flatten(1).norm(dim=1) / delta).mean())
