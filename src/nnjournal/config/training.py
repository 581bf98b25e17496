"""The `[training]` section: optimizer, schedule, penalties, early stopping, clipping,
augmentation, the regularization switches, and `[ensemble]`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from nnjournal.config.base import Strict
from nnjournal.config.watermark import WatermarkConfig


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
    name: Literal["none", "step", "exponential", "cosine", "onecycle", "plateau"] = "none"
    step_size: int = Field(10, ge=1, description="epochs between decays (step)")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="decay factor (step, exponential, plateau)")
    patience: int = Field(
        5, ge=0, description="plateau: epochs without a better early-stopping monitor before lr *= gamma"
    )
    max_lr: float | None = Field(None, gt=0.0, description="peak lr (onecycle); default 10x lr")
    min_lr: float = Field(0.0, ge=0.0, description="floor (cosine, plateau)")


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
    # issue 18: a generated text watermark (data/watermark.py), a denoising corruption like the above.
    watermark: WatermarkConfig | None = Field(None, description="overlay a generated watermark (removal)")


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


# ---------------------------------------------------------------- GAN (issue 13)
# Adam refuses a beta outside [0, 1) only when the optimizer is built, after the run directory exists.
AdamBeta = Annotated[float, Field(ge=0.0, lt=1.0)]


class AdversarialConfig(Strict):
    """The adversarial trainer's options (training/adversarial.py), used when the task's trainer
    is "adversarial" (task.name = "gan"). Epochs, batch size, device and checkpoints are the
    shared `[training]` fields; the optimizer, schedule, penalties, clipping, augmentation and
    early stopping fields are the supervised trainer's and are refused when set."""

    n_critic: int = Field(1, ge=1, description="discriminator steps (each on its own batch) per generator step")
    label_smoothing: float = Field(
        0.0, ge=0.0, lt=0.5, description="one-sided: the discriminator's target for real images is 1 - this"
    )
    # allow_inf_nan: an infinite rate passes gt=0 and blows the weights up at the first step.
    lr_d: float = Field(2e-4, gt=0.0, allow_inf_nan=False, description="the discriminator's Adam learning rate")
    lr_g: float = Field(2e-4, gt=0.0, allow_inf_nan=False, description="the generator's Adam learning rate")
    betas: tuple[AdamBeta, AdamBeta] = Field((0.5, 0.999), description="Adam's betas for both (DCGAN: beta1 = 0.5)")
    ema_decay: float = Field(
        0.999, gt=0.0, lt=1.0, description="of the generator's moving average (when model.ema = true)"
    )


# The `[training]` fields only the supervised trainer reads: set for a GAN (the adversarial
# trainer) they would do nothing, so it refuses them, and `nnj show` leaves them out.
SUPERVISED_ONLY = (
    "regime", "optimizer", "schedule", "penalty", "early_stopping", "clip", "augment",
    "label_smoothing", "max_norm", "weight_noise", "log_grad_norms", "precision", "compile", "channels_last",
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
    # -- issue 15 (debugging): activation statistics per epoch
    log_activation_stats: bool = Field(
        False,
        description="record each activation layer's dead share (ReLU units that never fire), saturated "
        "share (sigmoid/tanh), mean and std per epoch, on up to 1,024 training inputs",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    threads: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="CPU threads for training; auto = one for networks doing under 200 million "
        "multiply-adds per batch (faster there, and far faster on a busy machine), torch's default above",
    )
    checkpoint_every_s: float | None = Field(
        None,
        ge=0.0,
        description="None = at every epoch end unless that would take over 1% of the training time "
        "(then as often as 1% allows); 0 = every epoch; > 0 = when that many seconds have passed",
    )
    # GAN (issue 13): the adversarial trainer's own options
    adversarial: AdversarialConfig = Field(default_factory=AdversarialConfig)
    # -- issue 17: experiment trackers (journal/trackers.py), optional extras: nnjournal[tensorboard], [mlflow]
    loggers: list[Literal["tensorboard", "mlflow"]] = Field(
        default_factory=list,
        description="experiment trackers fed per epoch and at the run's end (nnj run): tensorboard, mlflow",
    )
    tensorboard_dir: str | None = Field(
        None, description="TensorBoard event folder; each run writes DIR/RUN_NAME (default: RUN/tensorboard)"
    )
    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI (a server, sqlite:///file.db); default $MLFLOW_TRACKING_URI, else "
        "sqlite:///OUT/mlflow.db shared by the runs in the output folder, artifacts in OUT/mlartifacts",
    )
    experiment_name: str | None = Field(None, description="MLflow experiment (default: the recipe name)")
    # -- issue 17 (GPU and precision): training/precision.py
    precision: Literal["32", "bf16", "bf16-mixed", "16-mixed"] = Field(
        "32",
        description="32 = float32; bf16 (= bf16-mixed) = forward and loss autocast to bfloat16 with float32 "
        "weights, CPU or GPU; 16-mixed = float16 autocast with a grad scaler, CUDA only",
    )
    compile: bool = Field(False, description="train through torch.compile(model) (needs g++ on the CPU)")
    channels_last: bool | Literal["auto"] = Field(
        "auto",
        description="NHWC memory layout for models with 2-D convolutions; auto = on CUDA only",
    )

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_as_text(cls, value: object) -> object:
        # `precision = 32` in TOML (or --set training.precision=32) reads as a number
        return "32" if value == 32 and not isinstance(value, bool) else value

    @field_validator("optimizer", "schedule", mode="before")
    @classmethod
    def _a_name_alone(cls, value: Any) -> Any:
        """`optimizer = "adamw"` (as Keras takes it) is that optimizer with its defaults."""
        return {"name": value} if isinstance(value, str) else value
