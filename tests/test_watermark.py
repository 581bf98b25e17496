"""Watermark removal (issue 18): the generated watermark, harmonic inpainting (the classical
baseline), and the watermark-ae recipes' quick profiles."""

import time

import numpy as np
import pytest
import torch
from conftest import require_data
from pydantic import ValidationError

import nnjournal as nnj
from nnjournal import recipes
from nnjournal.config.watermark import WatermarkConfig
from nnjournal.data.corruption import corrupt_fixed
from nnjournal.data.watermark import draw_watermarks, text_mask, watermark
from nnjournal.errors import NNJError
from nnjournal.evaluation.inpainting import harmonic_inpaint

pytestmark = pytest.mark.usefixtures("one_thread")


def test_watermark_is_seeded_and_fresh_per_batch():
    x = torch.rand(16, 1, 28, 28)
    mark = watermark(WatermarkConfig())
    a, b = corrupt_fixed(x, mark, seed=7), corrupt_fixed(x, mark, seed=7)
    assert torch.equal(a, b)
    assert not torch.equal(a, corrupt_fixed(x, mark, seed=8))
    torch.manual_seed(0)
    first, second = mark(x), mark(x)  # training batches: a new draw each time
    assert not torch.equal(first, second)


def test_watermark_stays_within_the_image():
    cfg = WatermarkConfig(chars=3)
    mh, mw = text_mask("abc").shape  # 11 x 18: the bitmap font is 6 pixels per character
    torch.manual_seed(0)
    masks, opacity, level, texts = draw_watermarks(300, mh + 1, mw + 2, cfg)  # barely room to move
    for m, text in zip(masks, texts, strict=True):
        full = text_mask(text)
        assert m.sum() == full.sum()  # nothing of the text fell off the edge
    assert ((opacity >= 0.4) & (opacity <= 0.8)).all() and (level == 1).all()
    corners = {(int(r[0]), int(c[0])) for r, c in (np.nonzero(m[0].numpy()) for m in masks) if len(r)}
    assert len(corners) > 1  # it moves
    with pytest.raises(NNJError, match="larger than the"):
        draw_watermarks(1, mh, mw - 1, cfg)


def test_watermark_blends_only_its_pixels():
    cfg = WatermarkConfig(text="nnj", opacity=(0.5, 0.5), color="black", scale=2)
    x = torch.rand(4, 3, 40, 40)
    torch.manual_seed(3)
    out = watermark(cfg)(x)
    changed = (out != x).any(dim=1)  # (n, H, W)
    assert changed.flatten(1).sum(1).eq(int(text_mask("nnj", 2).sum())).all()
    assert torch.allclose(out[:, :, changed[0]][0], 0.5 * x[:, :, changed[0]][0])  # half-way to black
    flat = watermark(WatermarkConfig())(torch.rand(2, 784))  # flat MNIST-like rows are square images
    assert flat.shape == (2, 784)


def test_watermark_config_is_checked():
    with pytest.raises(ValidationError, match="opacity must be"):
        WatermarkConfig(opacity=(0.9, 0.2))
    cfg = recipes.load("watermark-ae", ["training.augment.watermark.chars=9"])
    assert cfg.training.augment.watermark.chars == 9


def test_harmonic_inpainting_reproduces_a_linear_ramp():
    rows, cols = torch.meshgrid(torch.arange(20.0), torch.arange(24.0), indexing="ij")
    ramp = torch.stack([0.02 * rows + 0.01 * cols, 0.5 - 0.015 * cols, 0.3 + 0 * rows])[None]  # (1, 3, H, W)
    mask = torch.zeros(1, 1, 20, 24, dtype=torch.bool)
    mask[0, 0, 4:15, 3:19] = True
    mask[0, 0, 17, 5:9] = True
    holed = torch.where(mask, torch.zeros_like(ramp), ramp)
    filled = harmonic_inpaint(holed, mask)
    assert torch.allclose(filled, ramp, atol=1e-5)  # a linear function is harmonic
    assert torch.equal(filled[~mask.expand_as(ramp)], ramp[~mask.expand_as(ramp)])  # the rest untouched
    assert torch.equal(harmonic_inpaint(ramp, torch.zeros_like(mask)), ramp)


def test_harmonic_inpainting_of_a_texture_is_smooth_not_exact():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16)
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[:, :, 5:10, 5:10] = True
    filled = harmonic_inpaint(torch.where(mask, 0.0, x), mask)
    inside = filled[mask]
    assert inside.min() >= x.min() and inside.max() <= x.max()  # maximum principle
    assert inside.std() < x[mask].std()


# One thread: `training.threads = "auto"` gives these conv nets (over 200M multiply-adds per batch)
# two, whose spin-waiting on a shared 2-core machine doubles the CPU time the bound counts.
QUICK = {
    "watermark-ae": [
        "data.max_train=2000",
        "training.epochs=5",
        "training.batch_size=32",
        "training.threads=1",
    ],
    "watermark-ae-photos": ["training.epochs=8", "training.threads=1"],
}


def run_quick(name, tmp_path):
    raw = recipes.load_raw(name)
    if name == "watermark-ae-photos":
        raw["data"]["path"] = str(require_data("images/cats-dogs"))
    else:
        require_data("mnist")
    cfg = recipes.validate_config(recipes.apply_overrides(raw, QUICK[name]))
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj.run(cfg, out=tmp_path, quiet=True)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert min(elapsed, cpu) < 60, f"{name} quick profile took {elapsed:.0f} s wall ({cpu:.0f} s of CPU)"
    return result


def test_watermark_ae_removes_marks_from_digits(tmp_path):
    result = run_quick("watermark-ae", tmp_path)
    m = result.test_metrics["autoencoder"]
    base = result.summary["baselines"]
    assert m["psnr"] >= m["input_psnr"] + 6
    harmonic = base["harmonic inpainting (true mask)"]
    assert m["psnr"] > harmonic["psnr"]  # blind, against a fill that is told where the mark is
    assert m["psnr"] > base["median filter 3x3"]["psnr"] + 6
    report = (result.run_dir / "report.md").read_text()
    assert "harmonic inpainting (true mask)" in report and "watermark" in report


def test_watermark_ae_photos_beats_the_blind_classical_filters(tmp_path):
    result = run_quick("watermark-ae-photos", tmp_path)
    m = result.test_metrics["autoencoder"]
    base = result.summary["baselines"]
    assert m["psnr"] > m["input_psnr"] + 1
    assert m["psnr"] > max(base["median filter 3x3"]["psnr"], base["Gaussian blur sigma 1"]["psnr"])
