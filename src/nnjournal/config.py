"""A recipe as typed, validated configuration: `RunConfig` = data + model + task + training
+ evaluation + journal.

Recipes are TOML. Unknown keys are errors reported with their dotted path, and
`--set a.b=value` overrides are type-checked by the same models.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nnjournal.errors import NNJError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated, and
    true/false is not a number (pydantic's lax mode would read `weight_noise = true` as 1.0)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key)
                if isinstance(value, bool) and field is not None and not _admits_bool(field.annotation):
                    raise ValueError(
                        f"{key} = {str(value).lower()} is not valid: {key} is not an on/off switch "
                        "(`nnj show RECIPE` shows the kind of value it takes)"
                    )
        return data


def _admits_bool(annotation: Any) -> bool:
    """Whether a field's type accepts a bare true/false (bool, Any, or a Literal of one)."""
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(a, bool) for a in get_args(annotation))
    if get_origin(annotation) is list:  # a list's items are not the field's value
        return False
    return any(_admits_bool(a) for a in get_args(annotation))  # unions, e.g. bool | Literal["auto"]


# ---------------------------------------------------------------- data
class SplitConfig(Strict):
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0)


class XorData(SplitConfig):
    """The four XOR points (train and test) plus a noisy cloud around them (validation)."""

    name: Literal["xor"] = "xor"
    noise: float = Field(0.1, ge=0.0, description="std of the validation cloud around each corner")
    cloud_size: int = Field(50, ge=1, description="validation points per corner")


class DigitsData(SplitConfig):
    """scikit-learn's 1,797 real 8x8 handwritten digits."""

    name: Literal["digits"] = "digits"
    as_images: bool = Field(False, description="1x8x8 images instead of 64-long vectors")


class Mnist1dData(SplitConfig):
    """MNIST-1D generated locally by the `mnist1d` package (4,000 train / 1,000 test)."""

    name: Literal["mnist1d"] = "mnist1d"
    num_samples: int = Field(5000, ge=100)
    train_split: float = Field(0.8, gt=0.0, lt=1.0)
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)


class ArraysData(SplitConfig):
    """Your own arrays: an `.npz` file holding `x` (n, ...) and `y` (n,) (never unpickled)."""

    name: Literal["arrays"] = "arrays"
    path: Path
    standardize: bool = True


class CsvData(SplitConfig):
    """Any CSV file with a header row: column kinds are inferred (numeric, boolean-like,
    categorical), missing values imputed, categoricals one-hot encoded and numerics
    standardized, all fitted on the training split only and saved with the model."""

    name: Literal["csv"] = "csv"
    path: Path | None = Field(None, description="the CSV file; default: shared_file under NNJ_DATA_DIR")
    shared_file: str | None = Field(None, description="a file under $NNJ_DATA_DIR used when path is unset")
    target: str | None = Field(None, description="the column to predict")
    positive_label: str | None = Field(None, description="binary targets: the class counted as positive")
    id_columns: list[str] = Field(default_factory=list, description="identifiers: never used as features")
    drop: list[str] = Field(default_factory=list, description="other columns to leave out")
    numeric: list[str] = Field(default_factory=list, description="columns that must hold numbers")
    categorical: list[str] = Field(default_factory=list, description="columns to one-hot encode")
    delimiter: str | None = Field(None, description="field separator; None = guess from the file")
    max_categories: int = Field(30, ge=2, description="rarer categories are merged into '(other)'")
    missing_indicators: bool = Field(False, description="add a 0/1 column per feature with gaps")
    oversample: bool = Field(False, description="repeat minority-class training rows up to balance")


class IdxImagesData(SplitConfig):
    """MNIST, Fashion-MNIST or Kuzushiji-MNIST: 28x28 grey images in the IDX format (.gz or
    not), from `path` (a folder), else `$NNJ_DATA_DIR/<name>`, else the cache, else downloaded
    from the canonical mirror with checksum verification."""

    name: Literal["mnist", "fashion-mnist", "kmnist"] = "mnist"
    path: Path | None = Field(None, description="folder holding the IDX files")
    download: bool = Field(True, description="download missing files into the cache")
    mirror: str | None = Field(None, description="base URL to download from (default: the canonical one)")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the training split")
    test_fraction: float = Field(
        0.2, ge=0.0, lt=1.0, description="used only when the official test split must be split itself"
    )
    max_train: int | None = Field(
        None, ge=10, description="keep a seeded stratified subset of training images"
    )


class Cifar10Data(Strict):
    """CIFAR-10 (32x32 colour photos, 10 classes): the canonical python batches (a folder or
    the .tar.gz, read with a restricted unpickler) or an .npz with x_train/y_train/x_test/y_test."""

    name: Literal["cifar10"] = "cifar10"
    path: Path | None = Field(None, description="cifar-10-batches-py folder, its .tar.gz, or an .npz")
    download: bool = Field(True, description="download the canonical archive into the cache if missing")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the training split")
    max_train: int | None = Field(
        None, ge=10, description="keep a seeded stratified subset of training images"
    )


class ImageFolderData(SplitConfig):
    """Photos in class sub-folders (`root/<class>/*.jpg`), or `root/train/<class>` and
    `root/test/<class>` for a given test split; resized to `size` x `size`."""

    name: Literal["image-folder"] = "image-folder"
    path: Path | None = None
    size: int = Field(64, ge=4, le=1024, description="side of the square images the model sees")
    resize: Literal["stretch", "crop"] = Field(
        "stretch", description="stretch the whole photo, or crop the centre square first"
    )
    color: Literal["rgb", "grayscale"] = "rgb"
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)


DataConfig = Annotated[
    XorData | DigitsData | Mnist1dData | ArraysData | CsvData | IdxImagesData | Cifar10Data | ImageFolderData,
    Field(discriminator="name"),
]


# ---------------------------------------------------------------- model
Activation = Literal["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu"]
Init = Literal["default", "zeros", "normal", "xavier", "he"]


class MLPModel(Strict):
    """Multilayer perceptron: Linear -> [norm] -> activation -> [norm] -> dropout, repeated."""

    name: Literal["mlp"] = "mlp"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [128, 64])
    activation: Activation = "relu"
    init: Init = "default"
    dropout_input: float = Field(0.0, ge=0.0, lt=1.0)
    dropout_hidden: float = Field(0.0, ge=0.0, lt=1.0)
    norm: Literal["none", "batch", "layer"] = "none"
    norm_placement: Literal["before_activation", "after_activation"] = "before_activation"
    noise_hidden: float = Field(
        0.0, ge=0.0, description="std of Gaussian noise added to hidden activations while training"
    )


class PerceptronModel(Strict):
    """A single linear layer: a linear classifier (cannot learn XOR)."""

    name: Literal["perceptron"] = "perceptron"
    init: Init = "default"


CodeActivation = Literal["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu"]


class AutoencoderModel(Strict):
    """Encoder -> code -> decoder (models/autoencoders.py). Dense: `hidden` layers then a
    `code_size` code (several hidden layers = a stacked/deep autoencoder; `code_size` larger
    than the input = overcomplete, which needs `sparsity` or `contractive`). Conv: the notes'
    conv + max-pool encoder and conv + upsample decoder with `channels` per stage."""

    name: Literal["autoencoder"] = "autoencoder"
    kind: Literal["dense", "conv"] = "dense"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, description="dense only")
    code_size: int = Field(32, ge=1, description="dense only")
    channels: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [32, 32], description="conv only: one conv + pool stage each"
    )
    activation: Literal["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu"] = "relu"
    code_activation: CodeActivation = "relu"
    output_activation: Literal["sigmoid", "linear"] = "sigmoid"
    tied: bool = Field(False, description="dense only: decoder weights = encoder weights transposed")
    upscale: int = Field(1, ge=1, le=8, description="conv only: sub-pixel convolution output upscaling")
    skip: bool = Field(
        False,
        description="conv only: add the input, resized to the output, before the output activation "
        "(the net learns the residual; colorization, super-resolution)",
    )
    sparsity: Literal["none", "l1", "kl"] = "none"
    sparsity_weight: float = Field(0.0, ge=0.0, description="L1 activity or KL-sparsity weight")
    sparsity_target: float = Field(0.05, gt=0.0, lt=1.0, description="target mean activation rho (kl)")
    contractive: float = Field(0.0, ge=0.0, description="weight of ||d code / d x||_F^2")


class VAEModel(Strict):
    """Variational autoencoder (models/vae.py): dense encoder to a mean and log-variance of
    `latent` dimensions, reparameterised sample, dense decoder. The ELBO is the `vae` task's."""

    name: Literal["vae"] = "vae"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [256])
    latent: int = Field(5, ge=1)
    activation: Literal["sigmoid", "tanh", "relu", "leaky_relu", "elu"] = "relu"
    output_activation: Literal["sigmoid", "linear"] = "sigmoid"


Padding = Literal["valid", "same"] | Annotated[int, Field(ge=0)]
Pool = Literal["none", "max", "avg", "sum"]


class ConvBlock(Strict):
    """One block of a CNN: conv -> [norm] -> activation -> [pool] -> [dropout].

    `kind`: `conv` (ordinary), `transposed` (upsampling), `tiled` (untied weights that repeat
    every `tile` positions), `residual` (two 3x3 convs with a skip connection)."""

    kind: Literal["conv", "transposed", "tiled", "residual"] = "conv"
    filters: int = Field(32, ge=1)
    kernel: int = Field(3, ge=1)
    stride: int = Field(1, ge=1)
    padding: Padding = "same"
    dilation: int = Field(1, ge=1)
    groups: int = Field(1, ge=1, description="channel groups; groups = in channels is depthwise")
    tile: int = Field(2, ge=1, description="tiled conv: period of the untied weights")
    pool: Pool = "none"
    pool_size: int = Field(2, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="channel dropout after the block")


Head = Literal["global-avg", "global-max", "flatten"]


class CNNModel(Strict):
    """A configurable convolutional stack, then a head: pool -> [dense layers] -> output."""

    name: Literal["cnn"] = "cnn"
    blocks: list[ConvBlock] = Field(
        default_factory=lambda: [ConvBlock(filters=32, pool="max"), ConvBlock(filters=64, pool="max")]
    )
    activation: Activation = "relu"
    norm: Literal["none", "batch"] = "batch"
    head: Head = "global-avg"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    dropout_head: float = Field(0.0, ge=0.0, lt=1.0)
    init: Init = "default"


class LeNet5Model(Strict):
    """LeNet-5 (LeCun et al. 1998): conv6 5x5 -> pool -> conv16 5x5 -> pool -> 120 -> 84 -> out.
    Small inputs are padded so the two 5x5 convs still fit."""

    name: Literal["lenet5"] = "lenet5"
    activation: Activation = "tanh"
    pool: Literal["avg", "max"] = "avg"
    dropout_head: float = Field(0.0, ge=0.0, lt=1.0)


class VGGSmallModel(Strict):
    """VGG-style: stages of 3x3 convs (same padding) then a 2x2 max pool; global-pooling head."""

    name: Literal["vgg-small"] = "vgg-small"
    widths: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [32, 64, 128])
    convs_per_stage: int = Field(2, ge=1)
    norm: Literal["none", "batch"] = "batch"
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="channel dropout after each stage")
    head: Head = "global-avg"
    dropout_head: float = Field(0.0, ge=0.0, lt=1.0)


class ResNetSmallModel(Strict):
    """A small ResNet: a 3x3 stem, then stages of residual blocks (skip connections); each
    later stage halves the size with stride 2 and a 1x1 projection shortcut."""

    name: Literal["resnet-small"] = "resnet-small"
    widths: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [16, 32, 64])
    blocks_per_stage: int = Field(1, ge=1)
    dropout_head: float = Field(0.0, ge=0.0, lt=1.0)


ModelConfig = Annotated[
    MLPModel
    | PerceptronModel
    | CNNModel
    | LeNet5Model
    | VGGSmallModel
    | ResNetSmallModel
    | AutoencoderModel
    | VAEModel,
    Field(discriminator="name"),
]


# ---------------------------------------------------------------- task
class TaskConfig(Strict):
    name: Literal["classification", "regression", "reconstruction", "vae"] = "classification"
    class_weight: Literal["none", "balanced"] = Field(
        "none", description="balanced: weight each class's loss by n / (k * count) on train"
    )
    # reconstruction and vae (tasks/reconstruction.py, tasks/vae.py): targets are the clean inputs
    loss: Literal["mse", "mae", "bce"] = Field("mse", description="reconstruction loss")
    normal_class: int | None = Field(
        None, description="anomaly detection: train on this class only, score the rest as anomalies"
    )
    input_transform: Literal["identity", "grayscale", "downsample2"] = Field(
        "identity", description="what the model sees of the clean target (colorization, super-resolution)"
    )
    likelihood: Literal["bernoulli", "gaussian"] = Field("bernoulli", description="vae decoder")
    gaussian_std: float = Field(0.1, gt=0.0, description="vae: the Gaussian decoder's fixed std")
    beta: float = Field(1.0, ge=0.0, description="vae: weight of the KL term (beta-VAE)")


# ---------------------------------------------------------------- training
class OptimizerConfig(Strict):
    name: Literal["sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0.0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="sgd and rmsprop")
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(
        0.0,
        ge=0.0,
        description="decoupled for adamw; a coupled L2 gradient term for the other optimizers",
    )

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> OptimizerConfig:
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            raise ValueError("nesterov=true needs name='sgd' and momentum > 0")
        return self


class ScheduleConfig(Strict):
    name: Literal["none", "step", "exponential", "cosine", "onecycle"] = "none"
    step_size: int = Field(10, ge=1, description="epochs between decays (step)")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="decay factor (step, exponential)")
    max_lr: float | None = Field(None, gt=0.0, description="peak lr (onecycle); default 10x lr")
    min_lr: float = Field(0.0, ge=0.0, description="floor (cosine)")


class PenaltyConfig(Strict):
    """Penalties added to the loss on weights (not biases or norm parameters)."""

    l1: float = Field(0.0, ge=0.0, description="lambda * sum |w| (lasso)")
    l2: float = Field(0.0, ge=0.0, description="lambda * sum w^2 (ridge); elastic net = both")


class EarlyStoppingConfig(Strict):
    patience: int | None = Field(None, ge=1, description="epochs without improvement; None = never stop")
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    min_delta: float = Field(0.0, ge=0.0)
    restore_best: bool = Field(True, description="restore the best epoch's weights at the end")


class ClipConfig(Strict):
    norm: float | None = Field(None, gt=0.0, description="clip the global gradient norm")
    value: float | None = Field(None, gt=0.0, description="clip each gradient element")


class AugmentConfig(Strict):
    """Data augmentation on training batches (labels unchanged; off at evaluation)."""

    # Denoising corruptions (data/corruption.py), applied to inputs only: the targets stay clean.
    mask_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of inputs set to zero")
    salt_pepper_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="fraction set to min/max")
    square_mask: int = Field(0, ge=0, description="side of a random square blanked (inpainting)")
    clip: tuple[float, float] | None = Field(None, description="clip corrupted inputs to [lo, hi]")
    noise_std: float = Field(
        0.0,
        ge=0.0,
        description="Gaussian noise added to inputs (standardized features: in units of one feature's spread; "
        "images: of the 0..1 pixel range)",
    )
    feature_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of input features zeroed")
    # Images (n, C, H, W); each example draws its own random parameters.
    crop_padding: int = Field(0, ge=0, description="random crop after zero-padding this many pixels")
    hflip: bool = Field(False, description="mirror left-right with probability 1/2")
    rotation: float = Field(0.0, ge=0.0, le=180.0, description="max rotation in degrees, either way")
    zoom: float = Field(0.0, ge=0.0, lt=1.0, description="scale by a factor in [1 - zoom, 1 + zoom]")
    translate: float = Field(0.0, ge=0.0, lt=1.0, description="max shift as a fraction of the size")
    brightness: float = Field(0.0, ge=0.0, lt=1.0, description="multiply by a factor in [1 - b, 1 + b]")
    contrast: float = Field(0.0, ge=0.0, lt=1.0, description="scale around the image mean by [1 - c, 1 + c]")
    cutout: int = Field(0, ge=0, description="side in pixels of a square blanked at a random place")


class EnsembleConfig(Strict):
    """Several models combined into one prediction (regression: the mean of the outputs)."""

    size: int = Field(1, ge=1, description="members; 1 = a single model")
    method: Literal["seeds", "bagging", "snapshot"] = Field(
        "seeds",
        description="seeds: same data, different initialisation and batch order; bagging: each member "
        "on its own bootstrap sample; snapshot: one run with cyclic lr, a member per cycle",
    )
    combine: Literal["mean_proba", "vote"] = Field(
        "mean_proba", description="classification: average the probabilities, or majority vote"
    )


class TrainingConfig(Strict):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(64, ge=1)
    regime: Literal["minibatch", "batch", "stochastic"] = Field(
        "minibatch", description="batch = whole set per step; stochastic = one example per step"
    )
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    penalty: PenaltyConfig = Field(default_factory=PenaltyConfig)
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    clip: ClipConfig = Field(default_factory=ClipConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    # Regularization switches beyond penalties, dropout, norm and early stopping (issue 5).
    label_smoothing: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="classification: mix this much of the uniform distribution into targets",
    )
    max_norm: float | None = Field(
        None,
        gt=0.0,
        description="cap on the L2 norm of each unit's incoming weights, enforced after every step",
    )
    weight_noise: float = Field(
        0.0,
        ge=0.0,
        description="std of Gaussian noise added to every weight matrix for each training step's "
        "forward and backward pass; the update applies to the clean weights",
    )
    vectorize: bool | Literal["auto"] = Field(
        "auto",
        description="train ensemble members / seeds of one architecture together (torch.func); "
        "auto = where benchmarks/vectorized.py shows it is faster",
    )
    log_grad_norms: bool = Field(False, description="record each layer's gradient norm per epoch")
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    checkpoint_every_s: float = Field(30.0, ge=0.0, description="0 = every epoch")


# ---------------------------------------------------------------- evaluation and journal
class ThresholdConfig(Strict):
    """Binary classification: the decision threshold chosen on the validation split."""

    objective: Literal["none", "f1", "recall_at_precision"] = Field(
        "none", description="none = 0.5; f1 = max F1; recall_at_precision = max recall at min_precision"
    )
    min_precision: float = Field(0.5, gt=0.0, le=1.0)


class EvaluationConfig(Strict):
    baselines: list[Literal["dummy", "linear", "boosted", "pca", "filter"]] = Field(
        default_factory=lambda: ["dummy", "linear"],
        description="reconstruction tasks: dummy = mean image, pca, filter = median/Gaussian blur",
    )
    pca_components: int | None = Field(None, ge=1, description="PCA baseline; default: the code size")
    downstream: bool = Field(
        False,
        description="reconstruction: fit logistic regression and gradient boosting on the codes "
        "and on the raw inputs (feature extraction)",
    )
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig)
    cv: int = Field(0, ge=0, description="k > 1: stratified k-fold CV of the whole pipeline (csv data)")
    permutation_importance: bool = Field(False, description="per-column importance for the network")
    mc_dropout: int = Field(
        0,
        ge=0,
        description="classification with dropout: T stochastic test passes with dropout on (Monte-Carlo "
        "dropout, an implicit ensemble) and their predictive uncertainty; 0 = off",
    )

    @model_validator(mode="after")
    def _cv_needs_two_folds(self) -> EvaluationConfig:
        if self.cv == 1:
            raise ValueError("cv=1 is not cross-validation; use 0 (off) or k >= 2 folds")
        return self


class StudyConfig(Strict):
    """A study: many trainings of the recipe's base model, compared in one journal entry.
    Fields left unset take the profile's value (see `nnjournal.studies`)."""

    name: Literal["regularization", "capacity", "gd-regimes"]
    profile: Literal["quick", "default"] = "default"
    seeds: int | None = Field(None, ge=1, description="trainings per setting, with seeds 0..seeds-1")
    train_size: int | None = Field(None, ge=10, description="training examples kept (small = overfits)")
    epochs: int | None = Field(None, ge=1)
    techniques: list[str] | None = Field(
        None, min_length=1, description="regularization: which techniques to compare"
    )
    workers: int | None = Field(
        None, ge=1, description="processes training settings at once (default: one per CPU core, at most 4)"
    )
    target_accuracy: float | None = Field(
        None, gt=0.0, lt=1.0, description="regularization: validation accuracy for steps-to-target"
    )
    widths: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, min_length=1, description="capacity: hidden widths"
    )
    l2: list[Annotated[float, Field(ge=0.0)]] | None = Field(
        None, min_length=1, description="capacity: L2 strengths"
    )


class JournalConfig(Strict):
    title: str = ""
    aim: str = ""
    plots: bool = True


class RunConfig(Strict):
    """One experiment: everything needed to reproduce it."""

    recipe: str = "custom"
    seed: int = 0
    data: DataConfig = Field(default_factory=DigitsData)
    model: ModelConfig = Field(default_factory=MLPModel)
    task: TaskConfig = Field(default_factory=TaskConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    study: StudyConfig | None = None
    # Named variants trained side by side in one journal entry; each is a partial recipe
    # deep-merged over this one (e.g. XOR: perceptron vs MLP).
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _snapshots_need_an_epoch_per_cycle(self) -> RunConfig:
        e = self.ensemble
        if e.size > 1 and e.method == "snapshot" and self.training.epochs < e.size:
            raise ValueError(
                f"ensemble.method = 'snapshot' splits training.epochs ({self.training.epochs}) into "
                f"ensemble.size ({e.size}) cosine cycles: set training.epochs to at least {e.size}"
            )
        return self

    @model_validator(mode="after")
    def _cv_needs_a_table(self) -> RunConfig:
        # Checked here, not after training: other loaders split once, so cross-validation
        # would fail only when the run's training is already spent.
        if self.evaluation.cv > 1 and self.data.name != "csv":
            raise ValueError(
                f"evaluation.cv = {self.evaluation.cv} needs data.name = 'csv' (got {self.data.name!r}): "
                "other loaders split their data once; set evaluation.cv = 0"
            )
        return self

    def variant_configs(self) -> dict[str, RunConfig]:
        """The resolved config of each variant (just this one when there are none)."""
        if not self.variants:
            return {self.model.name: self}
        base = self.model_dump(mode="json", exclude={"variants"})
        out = {}
        for name, partial in self.variants.items():
            merged = deep_merge(base, partial)
            out[name] = validate_config(merged, where=f"variants.{name}.")
        return out


# ---------------------------------------------------------------- helpers
_UNION_FIELDS = {"data", "model"}


def _dotted(loc: tuple[Any, ...]) -> str:
    """`('model', 'mlp', 'hidden', 0)` -> `model.hidden[0]`: drop pydantic's union tag."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if i == 1 and loc[0] in _UNION_FIELDS and isinstance(item, str):
            continue  # the discriminator tag, e.g. 'mlp'
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def format_validation_error(err: ValidationError, where: str = "") -> str:
    lines = []
    for e in err.errors():
        path = where + _dotted(tuple(e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; `nnj show RECIPE` lists the valid keys)"
        elif e["type"] == "union_tag_invalid":
            msg = e["msg"].replace("Input tag", "name")
        elif e["type"] == "value_error":  # our own validators' messages are complete sentences
            msg = msg.removeprefix("Value error, ")
        elif "input" in e and e["type"] not in ("missing",) and not isinstance(e["input"], dict):
            msg = f"{msg}, got {e['input']!r}"
        lines.append(f"{path}: {msg}" if path else msg)
    return "; ".join(lines)


def validate_config(raw: dict[str, Any], where: str = "") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise NNJError(f"invalid recipe: {format_validation_error(err, where)}") from None


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `update` merged in; a changed `name` replaces the whole table,
    because the other keys belong to the old kind (an MLP's `hidden` means nothing to a
    perceptron)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and value.get("name", out[key].get("name")) == out[key].get("name")
        ):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """`training.lr=3e-4` -> (['training', 'lr'], 0.0003). Values are read as TOML, so
    `[64, 32]`, `true` and `"text"` work; anything TOML cannot read is taken as a string."""
    if "=" not in text:
        raise NNJError(f"--set {text!r}: expected KEY=VALUE, e.g. --set training.lr=3e-4")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise NNJError(f"--set {text!r}: the key must be a dotted path such as training.epochs")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise NNJError(f"--set {text!r}: {part!r} is a value, not a table")
            node = child
        if path[-1] == "name" and node.get("name") not in (None, value):
            # Switching kind (e.g. model.name=perceptron): keys of the old kind no longer apply.
            node.clear()
        node[path[-1]] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise NNJError(f"recipe file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise NNJError(f"{path}: not valid TOML ({err})") from None


def to_toml(data: dict[str, Any]) -> str:
    """Write a plain dict (str/int/float/bool/list/dict, None skipped) as TOML."""
    lines: list[str] = []
    _write_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
        return "{" + items + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def _write_table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        _write_table(v, [*path, k], lines)
