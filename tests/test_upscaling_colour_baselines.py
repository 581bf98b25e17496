"""The classical baselines of super-resolution and colorization (evaluation/upscaling.py,
evaluation/colour_baseline.py) and the U-Net (models/unet.py)."""

import numpy as np
import pytest
import torch
from conftest import require_data
from PIL import Image

from nnjournal.errors import NNJError
from nnjournal.evaluation.colour_baseline import colour_baselines, colour_differences
from nnjournal.evaluation.image_quality import psnr
from nnjournal.evaluation.upscaling import resample_matrix, resize, upscaling_baselines
from nnjournal.models.unet import UNet, rgb_from_luma_chroma
from nnjournal.tasks.reconstruction import grayscale

PILLOW = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


@pytest.mark.parametrize("method", ["bicubic", "lanczos"])
@pytest.mark.parametrize("size", [(32, 26), (7, 5), (16, 40)])
def test_resize_matches_pillow(method, size):
    a = np.random.default_rng(0).random((16, 13)).astype(np.float32)
    want = np.asarray(Image.fromarray(a, mode="F").resize((size[1], size[0]), PILLOW[method]))
    got = resize(torch.from_numpy(a)[None, None], size, method)[0, 0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos"])
def test_resize_keeps_a_constant_and_an_interior_ramp(method):
    const = torch.full((2, 3, 8, 8), 0.3)
    torch.testing.assert_close(resize(const, (16, 16), method), torch.full((2, 3, 16, 16), 0.3))
    # A linear ramp sampled at pixel centres upsamples to the ramp at the new centres, away
    # from the border, where the clipped window is no longer symmetric. Bilinear and Keys'
    # cubic reproduce it exactly; Lanczos's weights at half-pixel offsets only nearly do
    # (0.02 of the slope, a known property of the windowed sinc).
    tol = 0.03 if method == "lanczos" else 1e-4
    n = 16
    low = torch.arange(n, dtype=torch.float32).repeat(n, 1)[None, None]  # value = column index
    up = resize(low, (2 * n, 2 * n), method)[0, 0]
    centres = (torch.arange(2 * n) + 0.5) / 2 - 0.5
    torch.testing.assert_close(up[:, 6:-6], centres[6:-6].repeat(2 * n, 1), atol=tol, rtol=0)


def test_resample_matrix_rows_sum_to_one_and_bad_method_is_refused():
    w = resample_matrix(5, 11, "lanczos")
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    with pytest.raises(NNJError, match="bicubic"):
        resample_matrix(5, 11, "nearest")


def test_lanczos_beats_bilinear_on_pooled_photos_like_images():
    # A smooth random image (low-pass noise), 2x2-average-pooled: the sharper kernels recover
    # more of it than bilinear, as on the photos.
    torch.manual_seed(0)
    hi = torch.nn.functional.avg_pool2d(torch.rand(8, 3, 68, 68), 5, 1).clamp(0, 1)[..., :64, :64]
    low = torch.nn.functional.avg_pool2d(hi, 2)
    scores = {k: float(psnr(hi, v).mean()) for k, v in upscaling_baselines(low, (64, 64)).items()}
    assert scores["Lanczos-3 upsampling"] > scores["bilinear upsampling"] + 0.5, scores
    assert scores["bicubic upsampling"] > scores["bilinear upsampling"], scores


def test_luma_is_kept_exactly_by_the_chroma_rebuild():
    rgb = torch.rand(4, 3, 8, 8)
    diff = torch.from_numpy(colour_differences(rgb)).reshape(4, 8, 8, 2).permute(0, 3, 1, 2)
    back = rgb_from_luma_chroma(grayscale(rgb), diff)
    torch.testing.assert_close(back, rgb, atol=1e-5, rtol=0)
    other = rgb_from_luma_chroma(grayscale(rgb), torch.randn(4, 2, 8, 8) * 0.1)
    torch.testing.assert_close(grayscale(other), grayscale(rgb), atol=1e-5, rtol=0)


def test_ridge_colour_model_beats_grey_on_the_photos():
    from nnjournal import data as data_mod
    from nnjournal.config import validate_config
    from nnjournal.tasks.reconstruction import to_unit_range

    path = require_data("images/cats-dogs")
    cfg = validate_config({"data": {"name": "image-folder", "path": str(path), "size": 32}})
    bundle = data_mod.load(cfg.data, 0, "classification")
    train, test = to_unit_range(bundle.train.x), to_unit_range(bundle.test.x)
    out = colour_baselines(grayscale(train), train, grayscale(test))
    scores = {k: float(psnr(test, v).mean()) for k, v in out.items()}
    ridge = scores["ridge on grey patches (classical colour model)"]
    assert ridge > scores["grey copied to RGB"] + 0.5, scores
    assert ridge > scores["grey + mean training chroma"], scores


@pytest.mark.parametrize(
    ("c_in", "c_out", "upscale", "chroma", "side_out"),
    [(3, 3, 2, False, 32), (1, 3, 1, True, 16), (1, 1, 1, False, 16)],
)
def test_unet_shapes_and_starts_at_the_classical_answer(c_in, c_out, upscale, chroma, side_out):
    net = UNet(c_in, c_out, (8, 16, 32), upscale=upscale, chroma=chroma)
    x = torch.rand(2, c_in, 16, 16)
    out = net(x)
    assert out.recon.shape == (2, c_out, side_out, side_out)
    assert out.code.shape == (2, 32 * 4 * 4)
    base = resize(x, (side_out, side_out), "lanczos") if upscale > 1 else x.expand(-1, c_out, -1, -1)
    torch.testing.assert_close(out.recon, base, atol=1e-5, rtol=0)  # zero head: the classical answer


def test_unet_refuses_bad_sides_and_options():
    with pytest.raises(NNJError, match="divisible by 4"):
        UNet(3, 3, (8, 16, 32))(torch.rand(1, 3, 10, 10))
    with pytest.raises(NNJError, match="model.chroma"):
        UNet(3, 3, (8,), chroma=True)
    with pytest.raises(NNJError, match="output_activation"):
        UNet(3, 3, (8,), output_act="sigmoid")


def test_unet_trains_to_beat_lanczos_on_a_learnable_upscale():
    # Targets with detail above the low-resolution Nyquist limit that follows a fixed rule
    # (a checkerboard on top of a smooth image): Lanczos cannot restore it, a network can.
    torch.manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(32, 1, 20, 20), 5, 1).clamp(0, 1)
    checker = ((torch.arange(16)[:, None] + torch.arange(16)[None]) % 2).float() * 0.2 - 0.1
    hi = (smooth + checker * (smooth > 0.5)).clamp(0, 1)
    low = torch.nn.functional.avg_pool2d(hi, 2)
    net = UNet(1, 1, (8, 16), upscale=2)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(low).recon, hi)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        got = float(psnr(hi, net(low).recon.clamp(0, 1)).mean())
    lanczos = float(psnr(hi, resize(low, (16, 16), "lanczos").clamp(0, 1)).mean())
    assert got > lanczos + 1, (got, lanczos)


@pytest.mark.parametrize("flip", ["horizontal", "dihedral"])
def test_pair_flips_move_input_and_target_together(flip):
    from nnjournal.data.bundle import DataInfo
    from nnjournal.tasks.reconstruction import LabelledSplit, Reconstruction

    # Target = the grey input copied to RGB, which the untrained chroma U-Net outputs exactly:
    # the loss stays zero only if each example's input and target got the same flip/rotation.
    task = Reconstruction(DataInfo("t", (3, 8, 8)), input_transform="grayscale", flip=flip)
    net = UNet(1, 3, (4, 8), chroma=True)
    torch.manual_seed(0)
    grey = torch.rand(16, 1, 8, 8)
    batch = LabelledSplit(grey, grey.expand(-1, 3, -1, -1).clone())
    assert float(task.training_step(net, batch).loss.detach()) < 1e-10
    # The target mirrored on its own is a different pair: the flips do not hide that.
    flipped = LabelledSplit(grey, grey.flip(-1).expand(-1, 3, -1, -1).clone())
    assert float(task.training_step(net, flipped).loss.detach()) > 1e-4


def test_dihedral_flip_refuses_non_square_images():
    from nnjournal.data.bundle import DataInfo
    from nnjournal.tasks.reconstruction import LabelledSplit, Reconstruction

    task = Reconstruction(DataInfo("t", (1, 8, 4)), flip="dihedral")
    x = torch.rand(4, 1, 8, 4)
    with pytest.raises(NNJError, match="square"):
        task.training_step(UNet(1, 1, (4,)), LabelledSplit(x, x))


def test_unet_config_errors_name_the_setting():
    from nnjournal import models
    from nnjournal.config import validate_config
    from nnjournal.data.bundle import DataInfo

    info = DataInfo("photos", (1, 16, 16))
    conv = validate_config({"model": {"name": "autoencoder", "kind": "conv", "chroma": True}}).model
    with pytest.raises(NNJError, match="model.chroma needs model.kind = 'unet'"):
        models.build(conv, info, 3)
    flat = validate_config({"model": {"name": "autoencoder", "kind": "unet"}}).model
    with pytest.raises(NNJError, match="needs image data"):
        models.build(flat, DataInfo("table", (20,)), 20)
    unet = validate_config({"model": {"name": "autoencoder", "kind": "unet", "channels": [8, 16]}}).model
    assert models.build(unet, info, 1)(torch.rand(2, 1, 16, 16)).recon.shape == (2, 1, 16, 16)
