"""Image augmentation on batches: per-sample random parameters, each transform doing what it
says, pixel ranges kept, and nothing applied at evaluation."""

from __future__ import annotations

import pytest
import torch

from nnjournal.config import AugmentConfig
from nnjournal.data.augment import (
    brightness_contrast,
    build_augment,
    cutout,
    horizontal_flip,
    random_affine,
    random_crop,
)
from nnjournal.errors import NNJError


def batch(n: int = 64, c: int = 3, size: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randint(0, 256, (n, c, size, size), dtype=torch.uint8)


def test_nothing_switched_on_means_no_augmentation() -> None:
    assert build_augment(AugmentConfig()) is None


def test_random_crop_is_a_zero_filled_shift_drawn_per_image() -> None:
    x = batch().float()
    out = random_crop(2)(x)
    assert out.shape == x.shape
    shifts = set()
    for i in range(len(x)):
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.roll(x[i], (dy, dx), dims=(1, 2))
                # compare the interior, which no zero padding reaches
                if torch.equal(out[i, :, 2:-2, 2:-2], shifted[:, 2:-2, 2:-2]):
                    shifts.add((dy, dx))
    assert len(shifts) > 10  # many different offsets within one batch


def test_horizontal_flip_mirrors_about_half_of_the_images() -> None:
    x = batch(200).float()
    out = horizontal_flip(x)
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(len(x))]
    kept = [torch.equal(out[i], x[i]) for i in range(len(x))]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 60 < sum(flipped) < 140


def test_affine_with_nothing_to_do_is_the_identity_and_rotation_varies_per_image() -> None:
    x = batch().float()
    torch.testing.assert_close(random_affine(0.0, 0.0, 0.0)(x), x, atol=1e-3, rtol=0)
    # One image repeated: different rotations give different outputs.
    same = x[:1].repeat(8, 1, 1, 1)
    out = random_affine(30.0, 0.0, 0.0)(same)
    assert len({round(float(o.sum()), 1) for o in out}) == 8


def test_rotation_by_90_degrees_rotates() -> None:
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 1, 4] = 255.0  # a dot above the centre
    torch.manual_seed(0)
    rotate = random_affine(90.0, 0.0, 0.0)
    # Draw until the angle is near +-90 degrees: the dot lands left or right of the centre.
    for _ in range(200):
        out = rotate(x)
        peak = divmod(int(out.argmax()), 9)
        if peak in ((4, 1), (4, 7)):
            return
    pytest.fail("a 90 degree rotation never moved the dot beside the centre")


def test_brightness_and_contrast_scale_per_image() -> None:
    x = torch.full((100, 1, 4, 4), 100.0)
    x[:, :, :2] = 50.0
    out = brightness_contrast(0.5, 0.0)(x)
    factors = out[:, 0, 3, 3] / 100.0
    assert factors.min() >= 0.5 and factors.max() <= 1.5 and factors.std() > 0.1
    torch.testing.assert_close(out[:, 0, 0, 0] / 50.0, factors)  # one factor per image
    out = brightness_contrast(0.0, 0.5)(x)
    torch.testing.assert_close(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))  # contrast keeps the mean


def test_cutout_blanks_one_square_per_image() -> None:
    x = torch.full((32, 1, 16, 16), 200.0)
    x[:, :, ::2] = 0.0  # batch mean per channel = 100
    out = cutout(4)(x)
    blanked = (out == 100.0).sum(dim=(1, 2, 3))
    assert blanked.max() == 16 and blanked.min() >= 4  # a 4x4 square, clipped at borders
    centres = {tuple(torch.nonzero(o[0] == 100.0).float().mean(0).round().tolist()) for o in out}
    assert len(centres) > 10


def test_build_augment_keeps_pixel_range_and_rejects_non_images() -> None:
    cfg = AugmentConfig(
        crop_padding=2,
        hflip=True,
        rotation=10,
        zoom=0.1,
        translate=0.1,
        brightness=0.5,
        contrast=0.5,
        cutout=4,
    )
    augment = build_augment(cfg)
    out = augment(batch())
    assert out.dtype == torch.float32 and out.shape == (64, 3, 16, 16)
    assert out.min() >= 0 and out.max() <= 255
    with pytest.raises(NNJError, match=r"need image batches \(n, C, H, W\), got shape \(4, 10\)"):
        augment(torch.zeros(4, 10))


def test_noise_on_uint8_images_is_on_the_0_to_1_scale() -> None:
    # noise_std 0.1 means a tenth of the pixel range, as for float images: about 25.5 grey
    # levels, not 0.1 of one level (which would leave a uint8 image unchanged).
    x = torch.full((16, 1, 16, 16), 128, dtype=torch.uint8)
    torch.manual_seed(0)
    noisy = build_augment(AugmentConfig(noise_std=0.1))(x)
    assert 23 < float((noisy - 128).std()) < 28


def test_augmentation_is_off_at_evaluation(tmp_path) -> None:
    from nnjournal import experiment

    result = experiment.run(
        "digits-cnn",
        ["training.epochs=1", "training.augment.rotation=180", "training.augment.cutout=8"]
        + ["journal.plots=false", "evaluation.baselines=[]"],
        out=tmp_path,
        quiet=True,
    )
    v = result.variants["cnn"]
    from nnjournal.training.predict import predict_outputs

    first = predict_outputs(v.model, v.bundle.test.x)
    torch.testing.assert_close(
        predict_outputs(v.model, v.bundle.test.x), first
    )  # deterministic: no augmentation
