"""Full profiles of the autoencoder recipes: runs each and writes its test numbers and wall time
into docs/benchmarks.md (## Autoencoders). Slow on a CPU; pass recipe names to run a subset.

    NNJ_DATA_DIR=../shared/data python benchmarks/autoencoders.py [ae-vs-pca sparse-ae ...]
"""

from __future__ import annotations

import sys
import time

import torch

import nnjournal as nnj

try:
    from _doc import machine_line, metrics_table, write_block
except ImportError:
    from benchmarks._doc import machine_line, metrics_table, write_block

RECIPES = [
    "ae-vs-pca",
    "sparse-ae",
    "denoising-ae",
    "contractive-ae",
    "vae",
    "anomaly-ae",
    "inpainting-ae",
    "features-ae",
]
# Which metrics each recipe's table shows.
COLUMNS = {
    "ae-vs-pca": ["mse", "psnr"],
    "sparse-ae": ["mse", "code_mean_activation", "code_inactive_fraction", "code_dead_units"],
    "denoising-ae": ["input_psnr", "psnr", "input_ssim", "ssim", "bce"],
    "contractive-ae": ["mse", "code_sensitivity"],
    "vae": ["mse", "elbo", "nll_is", "active_latent_dims"],
    "anomaly-ae": ["roc_auc", "pr_auc"],
    "inpainting-ae": ["input_corrupted_mse", "corrupted_mse", "psnr", "ssim"],
    "features-ae": ["mse", "downstream_logreg_accuracy", "downstream_gbm_accuracy"],
}
NOTES = {
    "sparse-ae": "The notes (full MNIST, 100 epochs): plain 0.0318, L1 1e-4 0.0301 test MSE.",
    "denoising-ae": "The Keras example (full MNIST, sigma 0.5, 100 epochs): validation BCE 0.0839.",
}


def _fmt(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def bench(name: str, overrides: list[str]) -> str:
    start = time.perf_counter()
    result = nnj.run(name, overrides, out="/tmp/nnj-bench-ae")
    wall = time.perf_counter() - start
    train_s = ", ".join(
        f"{k.split('.', 1)[1]} {v:.0f} s"
        for k, v in result.summary["timings"].items()
        if k.startswith("train_s")
    )
    note = NOTES.get(name, "")
    return (
        f"#### `{name}` ({result.summary['data']['description']})\n\n"
        f"Overrides: `{' '.join(overrides) or 'none'}`. Wall time {wall:.0f} s (training: {train_s}). {note}\n\n"
        + metrics_table(result, COLUMNS[name], _fmt)
    )


def main() -> None:
    torch.set_num_threads(1)  # 2 threads stall on a loaded 2-core machine
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or RECIPES
    overrides = [a[6:] for a in sys.argv[1:] if a.startswith("--set=")]
    for name in names:
        md = bench(name, overrides)
        md += f"\nMachine: {machine_line()}.\n"
        print(md, flush=True)
        write_block(f"ae_full_{name}", md)


if __name__ == "__main__":
    main()
