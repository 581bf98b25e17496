"""The compression entry's figure: PSNR against bits per image for the autoencoder(s),
quantised PCA and JPEG (whole file and payload without the header)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnjournal.journal.plots import plt, save


def rate_distortion(
    run_dir: Path, results: dict[str, Any], points: dict[str, dict[str, float]]
) -> dict[str, str]:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results.items():
        t = r.metrics["test"]
        ax.scatter(
            [t["bits_per_image"]], [t["psnr"]], marker="o", s=50, zorder=3, label=f"{name} (fixed-length)"
        )
        ax.scatter(
            [t["entropy_bits_per_image"]],
            [t["psnr"]],
            marker="o",
            s=50,
            facecolors="none",
            zorder=3,
            edgecolors="k",
            label=f"{name} (entropy-coded)",
        )
    pca = {n: b for n, b in points.items() if n.startswith("quantised PCA")}
    if pca:
        ax.scatter(
            [b["bits_per_image"] for b in pca.values()],
            [b["psnr"] for b in pca.values()],
            marker="s",
            label="quantised PCA",
        )
    jpeg = sorted((b for n, b in points.items() if n.startswith("JPEG")), key=lambda b: b["bits_per_image"])
    if jpeg:
        ax.plot(
            [b["bits_per_image"] for b in jpeg], [b["psnr"] for b in jpeg], "^-", label="JPEG, whole file"
        )
        ax.plot(
            [b["payload_bits_per_image"] for b in jpeg],
            [b["psnr"] for b in jpeg],
            "v--",
            label="JPEG, payload without header",
        )
    ax.set_xscale("log")
    ax.set_xlabel("bits per image (log scale)")
    ax.set_ylabel("test PSNR (dB)")
    ax.set_title("Rate-distortion on the test split")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    f = "plots/rate_distortion.png"
    save(fig, run_dir / f)
    return {"file": f, "caption": "PSNR against bits per image: the autoencoder, quantised PCA and JPEG"}
