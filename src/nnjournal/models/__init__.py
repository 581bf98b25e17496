"""Model builders: a config section plus the data's info -> an ordinary `nn.Module`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nnjournal.data.bundle import DataInfo
from nnjournal.models.cnn import CNN_BUILDERS
from nnjournal.models.mlp import MLP, Perceptron, count_parameters
from nnjournal.models.pixels import ImageModel, PixelStandardize
from nnjournal.models.recurrent_builders import RECURRENT_BUILDERS
from nnjournal.regularization.penalties import weight_parameters

__all__ = ["MLP", "Perceptron", "build", "count_parameters", "weight_parameters", "BUILDERS"]


def _mlp(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    return MLP(
        info.n_features,
        cfg.hidden,
        out_features,
        activation=cfg.activation,
        init=cfg.init,
        dropout_input=cfg.dropout_input,
        dropout_hidden=cfg.dropout_hidden,
        norm=cfg.norm,
        norm_placement=cfg.norm_placement,
        noise_hidden=cfg.noise_hidden,
        init_std=cfg.init_std,
        residual=cfg.residual,
    )


def _perceptron(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    return Perceptron(info.n_features, out_features, init=cfg.init)


# name -> builder(config section, data info, number of outputs)
BUILDERS: dict[str, Callable[[Any, DataInfo, int], nn.Module]] = {
    "mlp": _mlp,
    "perceptron": _perceptron,
    **CNN_BUILDERS,
}


def build(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    """Build the model named by `cfg.name` for inputs described by `info`. On uint8 images
    (`info.pixel_mean` set) it is wrapped as `ImageModel(pixels, net)`, whose first layer
    standardizes each batch."""
    try:
        net = BUILDERS[cfg.name](cfg, info, out_features)
    except RuntimeError as err:  # torch.OutOfMemoryError is one; the CPU allocator raises a plain one
        if not isinstance(err, torch.OutOfMemoryError) and "can't allocate memory" not in str(err):
            raise
        from nnjournal.errors import NNJError

        raise NNJError(
            f"model: the {cfg.name} model's weights do not fit in memory ({str(err).splitlines()[0][-90:]}); "
            "make it smaller: fewer or narrower layers (model.hidden, model.width, model.latent) or smaller images"
        ) from None
    # A model that maps its own pixel range (a GAN's tanh units) says so with `own_pixels`.
    if info.pixel_mean is not None and not getattr(net, "own_pixels", False):
        return ImageModel(PixelStandardize(info.pixel_mean, info.pixel_std), net)
    return net


def _autoencoder(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    from nnjournal.models.autoencoders import CodeRegularizer, ConvAutoencoder, DenseAutoencoder

    sparsity = CodeRegularizer(cfg.sparsity, cfg.sparsity_weight, cfg.sparsity_target)
    if cfg.kind == "unet":
        return _unet(cfg, info, out_features)
    if cfg.chroma:
        from nnjournal.errors import NNJError

        raise NNJError("model.chroma needs model.kind = 'unet'; set model.kind = 'unet' or model.chroma = false")
    if cfg.code_bits is not None:  # compression: refuse what a quantised code cannot have first
        from nnjournal.models.quantised import check_quantised_config

        check_quantised_config(cfg)
    if cfg.kind == "conv":
        if len(info.input_shape) != 3:
            from nnjournal.errors import NNJError

            raise NNJError(f"model.kind='conv' needs image data (C, H, W), got shape {info.input_shape}")
        model = ConvAutoencoder(
            info.input_shape[0],
            out_features,  # output channels: the task's target channels (3 for colorization)
            cfg.channels,
            act=cfg.activation,
            output_act=cfg.output_activation,
            upscale=cfg.upscale,
            sparsity=sparsity,
            contractive=cfg.contractive,
            skip=cfg.skip,
        )
        model.remember_code_shape(info.input_shape)
        return model
    if cfg.skip:
        from nnjournal.errors import NNJError

        raise NNJError("model.skip needs model.kind = 'conv' (a dense autoencoder has no image to add)")
    if cfg.masked_input:
        from nnjournal.models.masked_autoencoder import MaskedInputAutoencoder

        n = int(info.input_shape[0])
        inner = DenseAutoencoder(
            (2 * n,), cfg.hidden, cfg.code_size, act=cfg.activation, code_act=cfg.code_activation,
            output_act=cfg.output_activation, sparsity=sparsity,
        )  # fmt: skip
        return MaskedInputAutoencoder(inner, n)
    dense = DenseAutoencoder(
        info.input_shape,
        cfg.hidden,
        cfg.code_size,
        act=cfg.activation,
        # A quantised code is bounded by the wrapper (batch norm + sigmoid, models/quantised.py).
        code_act="linear" if cfg.code_bits is not None else cfg.code_activation,
        output_act=cfg.output_activation,
        tied=cfg.tied,
        sparsity=sparsity,
        contractive=cfg.contractive,
    )
    if cfg.code_bits is None:
        return dense
    from nnjournal.models.quantised import QuantisedAutoencoder

    return QuantisedAutoencoder(dense, cfg.code_bits, cfg.quantiser)


def _unet(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    from nnjournal.errors import NNJError
    from nnjournal.models.unet import UNet

    if len(info.input_shape) != 3:
        raise NNJError(f"model.kind='unet' needs image data (C, H, W), got shape {info.input_shape}")
    if cfg.sparsity != "none" or cfg.contractive > 0 or cfg.tied:
        raise NNJError("model.kind='unet' has no sparsity, contractive or tied option; unset them")
    return UNet(
        info.input_shape[0],
        out_features,
        cfg.channels,
        act=cfg.activation,
        output_act=cfg.output_activation,
        upscale=cfg.upscale,
        skip=cfg.skip,
        chroma=cfg.chroma,
    )


def _vae(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    from nnjournal.models.vae import VAE

    return VAE(info.input_shape, cfg.hidden, cfg.latent, act=cfg.activation, output_act=cfg.output_activation)


BUILDERS["autoencoder"] = _autoencoder
BUILDERS["vae"] = _vae

# ---------------------------------------------------------------------------- recurrent (issue 12)
BUILDERS.update(RECURRENT_BUILDERS)

# ---------------------------------------------------------------- GAN (issue 13)
def _gan(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    from nnjournal.errors import NNJError
    from nnjournal.models.gan import build_gan

    if len(info.input_shape) != 3:
        raise NNJError(f"model.name = 'gan' generates images (C, H, W); {info.name!r} has shape {info.input_shape}")
    return build_gan(
        cfg.kind,
        image_shape=info.input_shape,
        latent=cfg.latent,
        n_classes=info.n_classes,
        hidden=cfg.hidden,
        width=cfg.width,
        ema=cfg.ema,
    )


BUILDERS["gan"] = _gan


# ---------------------------------------------------------------- segmentation (issue 18)
def _segnet(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    from nnjournal.errors import NNJError
    from nnjournal.models.segnet import SegNet, check_fits

    if len(info.input_shape) != 3:
        raise NNJError(f"model.name = 'segnet' needs images (C, H, W); {info.name!r} has shape {info.input_shape}")
    check_fits(cfg.channels, *info.input_shape[1:])
    return SegNet(
        info.input_shape[0],
        out_features,  # the task's classes per pixel
        cfg.channels,
        convs_per_stage=cfg.convs_per_stage,
        decoder=cfg.decoder,
        norm=cfg.norm == "batch",
        dropout=cfg.dropout,
    )


BUILDERS["segnet"] = _segnet
