"""The `[task]` section: one config class per task, chosen by `name`.

Like `[data]` and `[model]` this is a union discriminated by `name`, except that the union is
a plain dict (`TASK_SECTIONS`) so a task defined outside the package can add its section
(`nnjournal.tasks.register`). Each section holds only its own task's options."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from nnjournal.config.base import Strict


class TaskSection(Strict):
    """What every task section has: the task's name."""

    name: str


class ClassificationTask(TaskSection):
    name: Literal["classification"] = "classification"
    class_weight: Literal["none", "balanced"] = Field(
        "none", description="balanced: weight each class's loss by n / (k * count) on train"
    )
    headline: Literal["auto", "accuracy", "balanced_accuracy", "f1", "f1_macro", "roc_auc", "log_loss"] = Field(
        "auto",
        description="the metric the report leads with; auto = accuracy, or for imbalanced data (one class "
        ">= 80% of the held-out rows) ROC-AUC with two classes and balanced accuracy with more",
    )


class RegressionTask(TaskSection):
    name: Literal["regression"] = "regression"
    loss: Literal["mse", "mae", "huber"] = Field("mse", description="the training loss")


class ReconstructionTask(TaskSection):
    """Autoencoders (tasks/reconstruction.py): the targets are the clean inputs."""

    name: Literal["reconstruction"] = "reconstruction"
    loss: Literal["mse", "mae", "bce", "psnr"] = Field(
        "mse", description="reconstruction loss; psnr = minus the mean per-image PSNR (images in 0..1)"
    )
    normal_class: int | None = Field(
        None, description="anomaly detection: train on this class only, score the rest as anomalies"
    )
    anomaly_share: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="anomaly detection: subsample the test anomalies to this share (seeded)",
    )
    input_transform: Literal["identity", "grayscale", "downsample2"] = Field(
        "identity", description="what the model sees of the clean target (colorization, super-resolution)"
    )
    ssim_weight: float = Field(
        0.0, ge=0.0, description="add this times (1 - SSIM) of the reconstruction to the loss (images)"
    )
    flip: Literal["none", "horizontal", "dihedral"] = Field(
        "none",
        description="image-to-image augmentation of each training example, input and target alike "
        "(training.augment would move the input away from its target): horizontal = mirror left-right "
        "with probability 1/2; dihedral = also rotate by a random multiple of 90 degrees (square images; "
        "for content without an up, e.g. super-resolution detail)",
    )


class ImputationTaskSection(TaskSection):
    """Filling a table's blanks (tasks/imputation.py): a masked denoising autoencoder."""

    name: Literal["imputation"] = "imputation"
    mask_fraction: float = Field(
        0.3, gt=0.0, lt=1.0, description="cells hidden at random in each training batch"
    )
    hide_fraction: float = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="known cells hidden (seeded, MCAR) in validation and test to score the fills",
    )


class CompressionTask(TaskSection):
    """Compression (tasks/compression.py, issue 18): an autoencoder with a quantised code
    (`model.code_bits`), its rate in bits per image next to quantised PCA and JPEG."""

    name: Literal["compression"] = "compression"
    loss: Literal["mse", "mae", "bce"] = Field("mse", description="reconstruction loss")
    jpeg_qualities: list[Annotated[int, Field(ge=1, le=95)]] = Field(
        default_factory=lambda: [1, 5, 10, 20, 40, 70, 90],
        description="JPEG baseline qualities (Pillow); [] = no JPEG",
    )
    pca: bool = Field(True, description="quantised PCA at each variant's rate as a baseline")


class VAETaskSection(TaskSection):
    """The variational autoencoder's ELBO (tasks/vae.py)."""

    name: Literal["vae"] = "vae"
    likelihood: Literal["bernoulli", "gaussian"] = Field("bernoulli", description="the decoder's")
    gaussian_std: float = Field(0.1, gt=0.0, description="the Gaussian decoder's fixed std")
    beta: float = Field(1.0, ge=0.0, description="weight of the KL term (beta-VAE)")


# ---------------------------------------------------------------------------- recurrent networks
# (issue 12) tasks/language_model.py, sequence_classification.py, sequence_regression.py,
# forecasting.py, seq2seq.py.
class LanguageModelTask(TaskSection):
    """Next-character prediction with truncated BPTT; the report samples text."""

    name: Literal["language-model"] = "language-model"
    sample_temperatures: list[Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [0.0, 0.5, 1.0], description="the report's samples (0 = greedy)"
    )
    sample_length: int = Field(300, ge=1)
    sample_prompt: str = Field("\n", min_length=1)


class SequenceClassificationTask(TaskSection):
    name: Literal["sequence-classification"] = "sequence-classification"


class SequenceTaggingTask(TaskSection):
    name: Literal["sequence-tagging"] = "sequence-tagging"


class SequenceRegressionTask(TaskSection):
    name: Literal["sequence-regression"] = "sequence-regression"


class ForecastingTask(TaskSection):
    name: Literal["forecasting"] = "forecasting"
    sarima: bool = Field(True, description="fit SARIMA(0,1,1)(0,1,1)_s as a baseline (statsmodels)")


class Seq2SeqTaskSection(TaskSection):
    name: Literal["seq2seq"] = "seq2seq"
    teacher_forcing: float = Field(1.0, ge=0.0, le=1.0, description="probability of feeding the true token")


RECURRENT_TASK_SECTIONS: dict[str, type[TaskSection]] = {
    "language-model": LanguageModelTask,
    "sequence-classification": SequenceClassificationTask,
    "sequence-tagging": SequenceTaggingTask,
    "sequence-regression": SequenceRegressionTask,
    "forecasting": ForecastingTask,
    "seq2seq": Seq2SeqTaskSection,
}
# ---------------------------------------------------------------------------- end of recurrent


# ---------------------------------------------------------------- GAN (issue 13)
class GANTaskSection(TaskSection):
    """Generate the data set's images (tasks/gan.py), judged by an evaluation classifier."""

    name: Literal["gan"] = "gan"
    samples: int | None = Field(
        2000,
        ge=2,
        le=50_000,  # all held in memory at once, after the whole training: refuse a typo before it
        description="generated images each split's numbers are computed on; None = the split's size",
    )
    snapshots: int = Field(4, ge=0, description="epochs (first to last) at which fixed-noise samples are kept")
    snapshot_samples: int = Field(32, ge=1, description="images per snapshot grid")
    classifier_epochs: int = Field(6, ge=1, description="the evaluation classifier's training epochs")


# ---------------------------------------------------------------- segmentation (issue 18)
class SegmentationTaskSection(TaskSection):
    """A class per pixel (tasks/segmentation.py): per-pixel cross-entropy, mean IoU."""

    name: Literal["segmentation"] = "segmentation"


TASK_SECTIONS: dict[str, type[TaskSection]] = {
    "classification": ClassificationTask,
    "regression": RegressionTask,
    "reconstruction": ReconstructionTask,
    "compression": CompressionTask,  # issue 18
    "vae": VAETaskSection,
    "imputation": ImputationTaskSection,
    **RECURRENT_TASK_SECTIONS,
    "gan": GANTaskSection,  # GAN (issue 13)
    "segmentation": SegmentationTaskSection,  # segmentation (issue 18)
}


def task_section(raw: Any) -> TaskSection:
    """The section class named by `raw["name"]`, validated (pydantic's errors propagate)."""
    if isinstance(raw, TaskSection):
        return raw
    if not isinstance(raw, dict):
        raise ValueError(f"task must be a table with a name, got {raw!r}")
    name = raw.get("name", "classification")
    if name not in TASK_SECTIONS:
        raise ValueError(f"task.name = {name!r} is not a task; choose from {', '.join(TASK_SECTIONS)}")
    return TASK_SECTIONS[name].model_validate(raw)
