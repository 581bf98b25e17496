"""Compression: a reconstruction task whose model sends a quantised code (`model.code_bits`,
models/quantised.py). Beside the reconstruction metrics it reports the rate in bits per image
(fixed-length and the empirical entropy of the code's symbols), and its baselines are codecs
at comparable rates: quantised PCA at each variant's rate and JPEG at a sweep of qualities
(evaluation/compression.py). Conclusion sentences compare PSNR at the same or nearest rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.evaluation.compression import (
    QuantisedPCA,
    best_pca_split,
    empirical_entropy_bits,
    fixed_length_bits,
    jpeg_roundtrip,
    to_uint8,
)
from nnjournal.evaluation.reconstruction import reconstruction_metrics
from nnjournal.tasks.reconstruction import RECONSTRUCTION_DIRECTIONS, Reconstruction
from nnjournal.training.predict import predict_outputs

RATE_DIRECTIONS = {"bits_per_image": "min", "entropy_bits_per_image": "min", "payload_bits_per_image": "min"}


class Compression(Reconstruction):
    name = "compression"
    directions = {**RECONSTRUCTION_DIRECTIONS, **RATE_DIRECTIONS}
    report_metrics = [
        "bits_per_image",
        "entropy_bits_per_image",
        "payload_bits_per_image",
        "psnr",
        "ssim",
        "mse",
    ]

    def __init__(
        self, info: DataInfo, loss: str = "mse", jpeg_qualities: list[int] | None = None, pca: bool = True
    ) -> None:
        super().__init__(info, loss)
        self.headline = "psnr"
        self.jpeg_qualities = list(jpeg_qualities or [])
        self.pca = pca

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: Any = None) -> Compression:
        return cls(info, section.loss, section.jpeg_qualities, section.pca)

    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        model = cfg.model
        if getattr(model, "name", None) != "autoencoder" or getattr(model, "code_bits", None) is None:
            raise NNJError(
                "task.name = 'compression' needs a quantised code: model.name = 'autoencoder' with "
                "model.code_bits set (and model.code_activation = 'sigmoid')"
            )
        if self.jpeg_qualities and (bundle.train.x.dim() != 4 or bundle.train.x.shape[1] not in (1, 3)):
            raise NNJError(
                f"task.jpeg_qualities needs images with 1 or 3 channels, got inputs of shape "
                f"{tuple(bundle.train.x.shape[1:])}; set task.jpeg_qualities = []"
            )
        return super().prepare_data(bundle, cfg)

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        metrics = super().evaluate(model, split)
        quantiser = model.quantiser
        symbols = quantiser.symbols(predict_outputs(model, split.x).code).cpu().numpy()
        metrics["bits_per_image"] = float(fixed_length_bits(symbols.shape[1], quantiser.bits))
        metrics["payload_bits_per_image"] = metrics["bits_per_image"]  # no header: every bit is code
        metrics["entropy_bits_per_image"] = empirical_entropy_bits(symbols)
        return metrics

    # -------------------------------------------------------------- the journal's hooks
    def baselines(self, bundle: DataBundle, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        fitted, out = super().baselines(bundle, cfg)
        rates = sorted({(v.model.code_size, v.model.code_bits) for v in cfg.variant_configs().values()})
        rated = rate_baselines(bundle, rates, self.jpeg_qualities, cfg.seed, pca=self.pca)
        # Only codecs at the recipe's own rate are its rivals in the generic conclusion; JPEG's
        # smallest file is already far larger, and the other PCA points belong to other variants.
        own = fixed_length_bits(cfg.model.code_size, cfg.model.code_bits)
        for b in rated.values():
            if not own * 0.9 <= b["bits_per_image"] <= own:
                b["other_operating_point"] = 1.0
        out.update(rated)
        # The rate-distortion figure needs the codecs' points: handed to `plots` as what was fitted.
        return {**fitted, "rate_points": rated}, out

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.journal.compression_plots import rate_distortion

        out = super().plots(run_dir, results, context)
        out.append(rate_distortion(run_dir, results, context["fitted_baselines"].get("rate_points", {})))
        return out

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        return compression_sentences(summary)

    def describe_model(self, cfg: Any) -> str | None:
        m = cfg.model
        line = super().describe_model(cfg) or ""
        return (
            f"{line}; code quantised to {m.code_bits} bits per unit ({m.code_size * m.code_bits} bits per "
            f"image), trained through {'uniform noise' if m.quantiser == 'noise' else 'straight-through rounding'}"
        )


def rate_baselines(
    bundle: DataBundle, rates: list[tuple[int, int]], qualities: list[int], seed: int, pca: bool = True
) -> dict[str, dict[str, float]]:
    """Test metrics of quantised PCA at each (components, bits) rate (the same split, and the
    best split of the same total bits) and of JPEG at each quality."""
    tr_y, te_x, te_y = bundle.train.y.float().cpu(), bundle.test.x.float().cpu(), bundle.test.y.float().cpu()
    train, test = tr_y.reshape(len(tr_y), -1).numpy(), te_x.reshape(len(te_x), -1).numpy()
    out: dict[str, dict[str, float]] = {}

    def score(recon: np.ndarray, bits: float, **rate: float) -> dict[str, float]:
        r = torch.from_numpy(np.asarray(recon, dtype=np.float32)).reshape(te_y.shape)
        rate = {"bits_per_image": float(bits), "payload_bits_per_image": float(bits), **rate}
        return {**rate, **reconstruction_metrics(te_x, r, te_y)}

    if pca:
        for k, bits in rates:
            total = fixed_length_bits(k, bits)
            same = QuantisedPCA(k, bits).fit(train, seed=seed)
            s = same.symbols(test)
            out[f"quantised PCA {same.basis_.shape[0]} x {bits} bits"] = score(
                same.reconstruct(s), total, entropy_bits_per_image=empirical_entropy_bits(s)
            )
            best = best_pca_split(train, total, seed)
            if (best.basis_.shape[0], best.bits) != (same.basis_.shape[0], bits):
                s = best.symbols(test)
                out[f"quantised PCA {best.basis_.shape[0]} x {best.bits} bits (best split of {total})"] = (
                    score(
                        best.reconstruct(s),
                        best.basis_.shape[0] * best.bits,
                        entropy_bits_per_image=empirical_entropy_bits(s),
                    )
                )
    if qualities:
        pixels = to_uint8(te_y.numpy())
        for q in qualities:
            decoded, sizes, headers = jpeg_roundtrip(pixels, q)
            out[f"JPEG quality {q}"] = score(
                decoded, 8 * sizes.mean(), payload_bits_per_image=float(8 * (sizes - headers).mean())
            )
    return out


def compression_sentences(summary: dict[str, Any]) -> list[str]:
    """For each model: its rate and quality, quantised PCA at its rate, and the JPEG points
    nearest its rate counted with and without the header."""
    lines: list[str] = []
    baselines: dict[str, Any] = summary.get("baselines", {})
    jpeg = {n: b for n, b in baselines.items() if n.startswith("JPEG")}
    for name, v in summary["variants"].items():
        t = v["test"]
        if "bits_per_image" not in t:
            continue
        bits = t["bits_per_image"]
        lines.append(
            f"{name} sends {bits:.0f} bits per image ({t['entropy_bits_per_image']:.0f} with an ideal entropy "
            f"coder) at test PSNR {t['psnr']:.2f} dB, SSIM {t['ssim']:.3f}."
        )
        pca = {
            n: b
            for n, b in baselines.items()
            if n.startswith("quantised PCA") and b["bits_per_image"] <= bits
        }
        pca = {n: b for n, b in pca.items() if b["bits_per_image"] >= 0.9 * bits}
        for n, b in pca.items():
            diff = t["psnr"] - b["psnr"]
            lines.append(
                f"At the same rate {n} reaches {b['psnr']:.2f} dB (SSIM {b['ssim']:.3f}): {name} is "
                f"{abs(diff):.2f} dB {'above' if diff > 0 else 'below'} it."
            )
        for key, label in (
            ("bits_per_image", "whole file"),
            ("payload_bits_per_image", "payload without header"),
        ):
            if not jpeg:
                break
            n, b = min(jpeg.items(), key=lambda item: abs(item[1][key] - bits))
            lines.append(
                f"The JPEG point nearest that rate counting the {label} is {n}: {b[key]:.0f} bits, "
                f"{b['psnr']:.2f} dB, SSIM {b['ssim']:.3f}."
            )
    return lines
