"""The `[model]` section: one config class per model family, a union discriminated by `name`."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from nnjournal.config.base import Strict

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
    # -- issue 15: deep-network pathologies (the gradients and init studies)
    init_std: float | None = Field(
        None, gt=0.0, description="init = 'normal': the weights' std (default 0.01, a small init)"
    )
    residual: bool = Field(
        False, description="skip connections: each hidden block whose width equals its input's adds its input"
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
    kind: Literal["dense", "conv", "unet"] = Field(
        "dense", description="unet: encoder-decoder with skip connections between levels (models/unet.py)"
    )
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, description="dense only")
    code_size: int = Field(32, ge=1, description="dense only")
    channels: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [32, 32], description="conv: one conv + pool stage each; unet: one level each"
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
    chroma: bool = Field(
        False,
        description="unet only, grey in / colour out: predict R - Y and B - Y and keep the input's luma exact",
    )
    sparsity: Literal["none", "l1", "kl"] = "none"
    sparsity_weight: float = Field(0.0, ge=0.0, description="L1 activity or KL-sparsity weight")
    sparsity_target: float = Field(0.05, gt=0.0, lt=1.0, description="target mean activation rho (kl)")
    contractive: float = Field(0.0, ge=0.0, description="weight of ||d code / d x||_F^2")
    masked_input: bool = Field(
        False, description="dense only: NaN inputs zeroed and flagged by a 0/1 indicator each (imputation)"
    )
    # Compression (models/quantised.py, issue 18): a code of `code_size` units x `code_bits` bits.
    code_bits: int | None = Field(
        None, ge=1, le=16, description="dense only: round each code unit to 2^bits levels (needs a sigmoid code)"
    )
    quantiser: Literal["noise", "ste"] = Field(
        "noise", description="with code_bits: train through uniform noise of one step, or straight-through rounding"
    )


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


# ---------------------------------------------------------------------------- recurrent networks
# (issue 12) models/rnn.py and models/seq2seq.py. "elman" is the plain tanh RNN.
CellName = Literal["elman", "lstm", "gru"]


class _Recurrent(Strict):
    cell: CellName = "lstm"
    implementation: Literal["fused", "manual"] = Field(
        "fused", description="manual: the gate-by-gate cells of models/recurrent_cells.py (teaching; slower)"
    )
    hidden: int = Field(128, ge=1, description="hidden units per layer and direction")
    layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="between stacked layers")
    residual: bool = Field(False, description="skip connections between layers of equal width")
    forget_bias: float | Literal["chrono"] | None = Field(
        None, description="LSTM: initial forget-gate bias (1.0 keeps the cell state early in training; "
        "Jozefowicz et al. 2015); 'chrono' = log U(1, T - 1) per unit with the input gate at minus that "
        "(Tallec & Ollivier 2018), for long dependencies; None = PyTorch's default initialisation"
    )

    @field_validator("forget_bias", mode="before")
    @classmethod
    def _number_or_chrono(cls, value: Any) -> Any:
        # One sentence instead of pydantic's error per member of the union (float, 'chrono').
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is None or value == "chrono" or (number and math.isfinite(value)):
            return value
        raise ValueError(f"a finite number (e.g. 1.0) or 'chrono', got {value!r}")


class RNNModel(_Recurrent):
    """A recurrent encoder and a head: many-to-one (`head = "sequence"`, pooled by `pooling`)
    or many-to-many (`head = "step"`, one output per step). Inputs: token ids (embedded),
    (T, F) features, (T,) signals (one value per step) or (1, H, W) images (rows as steps)."""

    name: Literal["rnn"] = "rnn"
    bidirectional: bool = False
    pooling: Literal["last", "mean", "attention"] = "last"
    head: Literal["sequence", "step"] = "sequence"
    embedding_dim: int = Field(32, ge=1, description="token inputs only")


class CharLMModel(_Recurrent):
    """Character language model: embedding -> unidirectional RNN -> next-character logits."""

    name: Literal["char-lm"] = "char-lm"
    hidden: int = Field(256, ge=1)
    embedding_dim: int = Field(64, ge=1)


class Seq2SeqModel(Strict):
    """Encoder-decoder with attention (bidirectional encoder, one decoder cell)."""

    name: Literal["seq2seq"] = "seq2seq"
    cell: Literal["gru", "lstm"] = "gru"
    attention: Literal["bahdanau", "luong", "none"] = "bahdanau"
    hidden: int = Field(64, ge=1)
    embedding_dim: int = Field(32, ge=1)


class ForecasterModel(_Recurrent):
    """A window of a series -> the next `horizon` values from the last state."""

    name: Literal["forecaster"] = "forecaster"
    hidden: int = Field(32, ge=1)
    bidirectional: bool = False


RecurrentModelConfig = RNNModel | CharLMModel | Seq2SeqModel | ForecasterModel
# ---------------------------------------------------------------------------- end of recurrent
# ---------------------------------------------------------------- GAN (issue 13)
class GANModel(Strict):
    """A generator and a discriminator in one module (models/gan.py). vanilla / cgan: MLPs with
    `hidden` layers in G (D mirrors them); dcgan / cdcgan: (transposed) strided convolutions
    with `width` channels; c*: conditioned on the label."""

    name: Literal["gan"] = "gan"
    kind: Literal["vanilla", "dcgan", "cgan", "cdcgan"] = "vanilla"
    latent: int = Field(64, ge=1, description="noise dimensions")
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [256, 512])
    width: int = Field(64, ge=1, description="convolutional kinds: first channel count")
    ema: bool = Field(False, description="keep a moving average of G's weights and sample from it")



# ---------------------------------------------------------------- segmentation (issue 18)
class SegNetModel(Strict):
    """SegNet encoder-decoder (models/segnet.py): conv stages with max pooling whose indices the
    decoder's un-pooling reuses, then a per-pixel classifier; `decoder = "unet"` upsamples with
    transposed convolutions and concatenates the encoder's feature maps instead."""

    name: Literal["segnet"] = "segnet"
    channels: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [16, 32, 64], description="encoder widths, one conv + 2x2 max-pool stage each"
    )
    convs_per_stage: int = Field(2, ge=1, description="3x3 convolutions per encoder and decoder stage")
    decoder: Literal["unpool", "unet"] = Field(
        "unpool", description="unpool: MaxUnpool2d with the encoder's indices (SegNet); unet: transposed conv + skips"
    )
    norm: Literal["batch", "none"] = "batch"
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="channel dropout after the inner decoder stages")


ModelConfig = Annotated[
    MLPModel
    | PerceptronModel
    | CNNModel
    | LeNet5Model
    | VGGSmallModel
    | ResNetSmallModel
    | AutoencoderModel
    | VAEModel
    | RecurrentModelConfig
    | GANModel  # GAN (issue 13)
    | SegNetModel,  # segmentation (issue 18)
    Field(discriminator="name"),
]
