"""Full profiles of compression-ae, watermark-ae and watermark-ae-photos (issue 18): runs each
recipe as shipped on one thread and writes its test numbers next to its baselines, with the
command, wall time, load average and commit, into docs/benchmarks.md (## Autoencoder applications)
(between markers, so a rerun replaces its own block). Pass recipe names to run a subset.

    NNJ_DATA_DIR=../shared/data python benchmarks/compression_watermark.py [compression-ae ...]
"""

from __future__ import annotations

import os
import sys
import time

import torch

import nnjournal as nnj

try:
    from _doc import machine_line, metrics_table, write_block
except ImportError:
    from benchmarks._doc import machine_line, metrics_table, write_block

SECTION = "## Autoencoder applications (issue 18)"  # in docs/benchmarks.md
RECIPES = ["compression-ae", "watermark-ae", "watermark-ae-photos"]
PHOTOS = {"watermark-ae-photos"}
COLUMNS = {
    "compression-ae": ["bits_per_image", "payload_bits_per_image", "entropy_bits_per_image", "psnr", "ssim"],
    "watermark-ae": ["input_psnr", "psnr", "input_ssim", "ssim", "corrupted_mse"],
    "watermark-ae-photos": ["input_psnr", "psnr", "input_ssim", "ssim", "corrupted_mse"],
}


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.4f}"
    return str(v)


def bench(name: str) -> str:
    overrides = ["training.threads=1"]
    if name in PHOTOS:
        overrides.append(f"data.path={os.environ['NNJ_DATA_DIR']}/images/cats-dogs")
    start, cpu = time.perf_counter(), time.process_time()
    result = nnj.run(name, overrides, out="/tmp/nnj-bench-ae", quiet=True)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    sentences = " ".join(result.summary.get("conclusion", []))
    return (
        f"#### `{name}` ({result.summary['data']['description']})\n\n"
        f"Command: `NNJ_DATA_DIR=../shared/data python benchmarks/compression_watermark.py {name}` "
        f"(the recipe as shipped, `{' '.join(overrides)}`). Wall time {wall:.0f} s, CPU {cpu:.0f} s.\n\n"
        + metrics_table(result, COLUMNS[name], _fmt)
        + "\n"
        + (f"Conclusion: {sentences}\n" if sentences else "")
    )


def main() -> None:
    torch.set_num_threads(1)
    for name in sys.argv[1:] or RECIPES:
        md = bench(name) + f"\nMachine: {machine_line()}.\n"
        print(md, flush=True)
        write_block(f"full_{name}", md, section=SECTION)


if __name__ == "__main__":
    main()
