"""Segmentation (issue 18): the digit-scenes generator, mean IoU from pixel counts, SegNet's
index un-pooling, bad configurations, and the recipe's quick profile against thresholding."""

import time

import numpy as np
import pytest
import torch
from conftest import require_data

import nnjournal as nnj
from nnjournal import models, recipes
from nnjournal.config import validate_config
from nnjournal.config.data import DigitScenesData
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.data.segmentation_scenes import digit_pools, make_scene, make_scenes, resized_ink
from nnjournal.errors import NNJError
from nnjournal.evaluation.segmentation import (
    best_threshold,
    iou_metrics,
    mask_metrics,
    otsu_thresholds,
    overlap_counts,
)
from nnjournal.models.segnet import SegNet
from nnjournal.tasks.segmentation import Segmentation
from nnjournal.training.fit import evaluate_split

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pools():
    require_data("mnist")
    return digit_pools(DigitScenesData(), seed=0)


# ---------------------------------------------------------------------------- the scenes
def test_scenes_are_seeded(pools):
    cfg = DigitScenesData(canvas=40, max_size=28)
    a = make_scenes(12, *pools["train"], cfg, seed=3)
    b = make_scenes(12, *pools["train"], cfg, seed=3)
    c = make_scenes(12, *pools["train"], cfg, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (12, 1, 40, 40) and a[0].dtype == np.uint8 and a[1].shape == (12, 40, 40)


@pytest.mark.parametrize("semantic", [False, True])
def test_masks_are_exactly_the_pasted_digits_pixels(pools, semantic):
    digits, labels = pools["train"]
    cfg = DigitScenesData(semantic=semantic)
    rng = np.random.default_rng(0)
    for _ in range(30):
        scene = make_scene(rng, digits, labels, cfg)
        expected = np.zeros_like(scene.mask)
        for i, top, left, side in scene.placed:  # later digits cover earlier ones
            ink = resized_ink(digits[i], side) > cfg.ink_threshold
            expected[top : top + side, left : left + side][ink] = labels[i] + 1 if semantic else 1
        assert np.array_equal(scene.mask, expected)
        assert cfg.min_digits <= len(scene.placed) <= cfg.max_digits
        assert scene.image.min() >= 0 and scene.image.max() <= 1


def test_test_scenes_use_digits_no_training_scene_has(pools):
    seen = {d.tobytes() for split in ("train", "val") for d in pools[split][0]}
    assert not any(d.tobytes() in seen for d in pools["test"][0])
    assert sum(len(p[1]) for p in pools.values()) == 10_000


def test_clutter_makes_thresholding_a_real_but_imperfect_baseline(pools):
    cfg = DigitScenesData()
    x, y = make_scenes(200, *pools["train"], cfg, seed=0)
    t = best_threshold(x, y)
    m = mask_metrics(torch.from_numpy((x[:, 0] > t).astype(np.uint8)), torch.from_numpy(y), 2)
    assert 0.3 < m["digit_iou"] < 0.75  # it finds digits, and misses many pixels
    clean = make_scenes(200, *pools["train"], DigitScenesData(strokes=0, fragments=0, background=0.0), seed=0)
    t_clean = best_threshold(*clean)
    m_clean = mask_metrics(
        torch.from_numpy((clean[0][:, 0] > t_clean).astype(np.uint8)), torch.from_numpy(clean[1]), 2
    )
    assert m_clean["digit_iou"] > m["digit_iou"] + 0.2  # the clutter is what thresholding struggles with


# ---------------------------------------------------------------------------- mean IoU
def _iou(pred, target, k=2):
    return mask_metrics(torch.tensor(pred), torch.tensor(target), k)


def test_miou_on_hand_made_masks():
    target = np.zeros((4, 4), dtype=np.int64)
    target[:2] = 1  # top half is digit
    assert _iou(target, target)["miou"] == 1.0 and _iou(target, target)["digit_iou"] == 1.0
    m = _iou(1 - target, target)
    assert m["miou"] == 0.0 and m["digit_iou"] == 0.0 and m["pixel_accuracy"] == 0.0
    left = np.zeros((4, 4), dtype=np.int64)
    left[:, :2] = 1  # overlaps the top half in 4 of 12 pixels, and so does the background
    m = _iou(left, target)
    assert m["digit_iou"] == pytest.approx(1 / 3) and m["miou"] == pytest.approx(1 / 3)
    assert m["pixel_accuracy"] == 0.5
    # Classes nobody mentions are not averaged in; three classes: 0 right, 1 half, 2 absent.
    sem = np.array([[0, 0, 1, 1]])
    m = _iou(np.array([[0, 0, 1, 0]]), sem, k=3)
    assert m["miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    empty = _iou(np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2), dtype=np.int64))
    assert empty["miou"] == 1.0 and np.isnan(empty["digit_iou"])


def test_miou_is_not_a_mean_of_chunk_means():
    # Chunk 1: a large digit found perfectly; chunk 2: a small digit missed. Summed counts
    # give the digit IoU 100/110; the mean of the two chunks' IoUs would be (1 + 0) / 2.
    a = np.zeros((1, 10, 10), dtype=np.int64)
    b = np.zeros((1, 10, 10), dtype=np.int64)
    b[0, 0, :10] = 1
    a[:] = 1
    sums: dict[str, float] = {}
    for pred, target in ((a, a), (np.zeros_like(b), b)):
        for k, v in overlap_counts(torch.tensor(pred), torch.tensor(target), 2).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    assert iou_metrics(sums, 2)["digit_iou"] == pytest.approx(100 / 110)


def test_otsu_splits_a_two_level_image_between_its_levels():
    img = np.full((1, 1, 8, 8), 40, dtype=np.uint8)
    img[0, 0, :3] = 200
    t = otsu_thresholds(img)[0]
    assert 40 <= t < 200


def _scene_split(pools, n):
    x, y = make_scenes(n, *pools["test"], DigitScenesData(canvas=32, max_size=28), seed=5)
    return Split(torch.from_numpy(x), torch.from_numpy(y))


def test_chunked_evaluation_equals_one_pass(pools, monkeypatch):
    split = _scene_split(pools, 37)
    info = DataInfo("digit-scenes", (1, 32, 32), n_classes=2, pixel_mean=[80.0], pixel_std=[50.0])
    task = Segmentation(info)
    torch.manual_seed(0)
    model = models.build(validate_config({"model": {"name": "segnet", "channels": [4, 8]}}).model, info, 2)
    model.eval()
    with torch.no_grad():
        logits = model(split.x)
    one_pass = mask_metrics(logits.argmax(1), split.y, 2)
    chunked = task.evaluate(model, split, chunk=5)  # 8 chunks, the last of 2 scenes
    whole = task.evaluate(model, split, chunk=1000)
    for name in ("miou", "digit_iou", "pixel_accuracy"):
        assert chunked[name] == pytest.approx(one_pass[name], rel=1e-12)
        assert whole[name] == pytest.approx(one_pass[name], rel=1e-12)
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-6)  # float32 losses, summed per chunk
    # The trainer's validation pass sums the same counts over its own chunks.
    monkeypatch.setattr("nnjournal.training.fit.EVAL_CHUNK", 6)
    trainer = evaluate_split(model, task, split, prefix="val_")
    assert trainer["val_miou"] == pytest.approx(one_pass["miou"], rel=1e-12)
    assert set(trainer) == {"val_loss", "val_pixel_accuracy", "val_miou", "val_digit_iou"}


# ---------------------------------------------------------------------------- SegNet
def test_unpooling_uses_the_encoders_indices():
    torch.manual_seed(0)
    net = SegNet(1, 2, [4, 8], convs_per_stage=1).eval()
    x = torch.randn(3, 1, 12, 10)
    calls = []
    net.unpool.register_forward_hook(lambda m, args, out: calls.append((args[0], args[1], out)))
    with torch.no_grad():
        _, skips = net.encode(x)
        logits = net(x)
    assert logits.shape == (3, 2, 12, 10)
    assert len(calls) == 2
    for (pooled, idx, out), (enc_idx, _, features) in zip(calls, reversed(skips), strict=True):
        assert torch.equal(idx, enc_idx)  # the decoder got the encoder's own indices
        assert out.shape == features.shape  # back to the pre-pool size
        flat = out.flatten(2)
        # Every value sits where its window's maximum was, and nothing anywhere else.
        assert torch.equal(flat.gather(2, idx.flatten(2)), pooled.flatten(2))
        assert not flat.scatter(2, idx.flatten(2), 0.0).any()
        window_max = torch.nn.functional.max_pool2d(features, 2)
        assert torch.equal(features.flatten(2).gather(2, enc_idx.flatten(2)), window_max.flatten(2))
    unet = SegNet(1, 2, [4, 8], decoder="unet").eval()
    unet.unpool.register_forward_hook(lambda *a: pytest.fail("U-Net upsamples, it does not un-pool"))
    assert unet(x).shape == (3, 2, 12, 10)


# ---------------------------------------------------------------------------- bad input
def test_a_canvas_smaller_than_a_digit_is_one_clear_error():
    with pytest.raises(NNJError) as err:
        recipes.load("segmentation-segnet", ["data.canvas=24"])
    msg = str(err.value)
    assert "data.max_size = 32 is larger than data.canvas = 24" in msg and "\n" not in msg


def test_other_bad_settings_are_refused_before_anything_is_written(tmp_path):
    require_data("mnist")
    small = ["data.n_train=20", "data.n_val=10", "data.n_test=10"]
    cases = {
        "model.channels=[4,4,4,4,4,4]": "encoder stages",
        "training.augment.hflip=true": "moves pixels but not the segmentation mask",
        "data.min_size=30": "data.min_size = 30 is above data.max_size = 28",
    }
    for override, expected in cases.items():
        extra = ["data.max_size=28"] if "min_size" in override else []
        with pytest.raises(NNJError, match=expected):
            nnj.run("segmentation-segnet", [*small, *extra, override], out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    with pytest.raises(NNJError, match="per-pixel classes"):
        nnj.run("digits-mlp", ["task.name=segmentation"], out=tmp_path / "other")


# ---------------------------------------------------------------------------- the recipe
# Quick profile: a fifth of the scenes, 4 epochs, and smaller batches at a higher rate so 200
# steps suffice (~38 s of CPU on the shared machine; the full profile is the recipe as shipped).
QUICK = [
    "data.n_train=800",
    "data.n_val=150",
    "data.n_test=300",
    "training.epochs=4",
    "training.batch_size=16",
    "training.optimizer.lr=0.005",
    "training.threads=1",
]


def test_quick_profile_beats_thresholding(tmp_path):
    require_data("mnist")
    raw = recipes.load_raw("segmentation-segnet")
    # SegNet alone; the U-Net runs in the full profile
    raw["variants"] = {"segnet": raw["variants"]["segnet"]}
    cfg = recipes.validate_config(recipes.apply_overrides(raw, QUICK))
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj.run(cfg, out=tmp_path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert min(elapsed, cpu) < 60, f"quick profile took {elapsed:.0f} s wall ({cpu:.0f} s of CPU)"
    m = result.test_metrics["segnet"]
    baselines = result.summary["baselines"]
    thresholds = {n: b for n, b in baselines.items() if "threshold" in n.lower()}
    assert len(thresholds) == 2
    best = max(thresholds.values(), key=lambda b: b["miou"])
    assert m["miou"] > best["miou"] + 0.03, (m, thresholds)
    assert m["digit_iou"] > max(b["digit_iou"] for b in thresholds.values()) + 0.05
    assert m["miou"] > baselines["all background"]["miou"] + 0.2
    report = (result.run_dir / "report.md").read_text()
    assert "Otsu threshold per image" in report and "miou" in report
    assert (result.run_dir / "plots" / "segmentation.png").exists()
    assert any("finds the digits of the unseen test scenes" in s for s in result.summary["conclusion"])
    records = result.variants["segnet"].history.records
    assert result.variants["segnet"].history.monitor == "val_miou" and "val_miou" in records[0]


def test_semantic_scenes_train_and_report_end_to_end(tmp_path):
    require_data("mnist")
    overrides = [
        "data.semantic=true",
        "data.n_train=64",
        "data.n_val=16",
        "data.n_test=32",
        "data.canvas=32",
        "data.max_size=28",
        "model.channels=[4,8]",
        "training.epochs=1",
        "training.threads=1",
        "evaluation.baselines=['dummy']",
    ]
    raw = recipes.load_raw("segmentation-segnet")
    raw["variants"] = {"segnet": raw["variants"]["segnet"]}
    result = nnj.run(recipes.validate_config(recipes.apply_overrides(raw, overrides)), out=tmp_path)
    assert result.variants["segnet"].model(torch.zeros(1, 1, 32, 32, dtype=torch.uint8)).shape == (
        1,
        11,
        32,
        32,
    )
    baselines = result.summary["baselines"]
    # A threshold cannot name the digit: it is scored on digit IoU alone.
    assert set(baselines["Otsu threshold per image"]) == {"digit_iou"}
    assert baselines["all background"]["miou"] < 0.1  # background's IoU over 11 classes
    assert (result.run_dir / "report.md").exists()
