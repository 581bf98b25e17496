"""Compression (issue 18): the quantised code, the rate measures, the codecs it is compared with,
and the compression-ae recipe's quick profile (the autoencoder beats quantised PCA at its rate)."""

import io
import time

import numpy as np
import pytest
import torch
from conftest import require_data
from PIL import Image

import nnjournal as nnj
from nnjournal import recipes
from nnjournal.errors import NNJError
from nnjournal.evaluation.compression import (
    QuantisedPCA,
    empirical_entropy_bits,
    fixed_length_bits,
    jpeg_header_bytes,
    jpeg_roundtrip,
)
from nnjournal.models.autoencoders import DenseAutoencoder
from nnjournal.models.quantised import QuantisedAutoencoder, UniformQuantiser

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quantiser_round_trip_and_bit_count():
    q = UniformQuantiser(3).eval()
    levels = torch.arange(8, dtype=torch.float32) / 7
    assert torch.equal(q(levels), levels)  # the 8 levels are fixed points
    assert torch.equal(q.symbols(levels), torch.arange(8))
    x = torch.rand(1000)
    rounded = q(x)
    assert (rounded - x).abs().max() <= 0.5 / 7 + 1e-6  # within half a step
    assert torch.equal(q(rounded), rounded)  # idempotent
    assert set(q.symbols(rounded).tolist()) <= set(range(8))
    assert fixed_length_bits(32, 4) == 128


def test_training_quantisers_noise_and_straight_through():
    x = torch.rand(4000, requires_grad=True)
    noisy = UniformQuantiser(4, "noise").train()(x)
    err = (noisy - x).detach()
    assert err.abs().max() <= 0.5 / 15 + 1e-6 and err.std() > 0.25 / 15  # U(-D/2, D/2), D = 1/15
    ste = UniformQuantiser(4, "ste").train()
    y = ste(x)
    assert torch.equal(y.detach(), UniformQuantiser(4).eval()(x.detach()))  # rounds forward
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))  # identity backward


def test_quantised_autoencoder_sends_its_rounded_code():
    torch.manual_seed(0)
    model = QuantisedAutoencoder(DenseAutoencoder((1, 8, 8), [16], 6, code_act="linear"), bits=2).eval()
    out = model(torch.rand(5, 1, 8, 8))
    assert out.code.shape == (5, 6)
    assert torch.equal(out.code * 3, (out.code * 3).round())  # only the 4 levels 0, 1/3, 2/3, 1
    assert torch.allclose(model.decode(out.code), out.recon)  # the decoder needs nothing but the code


def test_entropy_of_known_symbol_distributions():
    uniform4 = np.tile(np.arange(4), 25)  # 2 bits
    constant = np.zeros(100, dtype=int)  # 0 bits
    quarter = np.array([0, 0, 0, 1] * 25)  # H(1/4) = 0.8113 bits
    symbols = np.stack([uniform4, constant, quarter], axis=1)
    h = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
    assert empirical_entropy_bits(symbols) == pytest.approx(2 + 0 + h, abs=1e-12)
    with pytest.raises(ValueError, match="symbols must be"):
        empirical_entropy_bits(np.zeros(5))


def test_jpeg_rate_is_measured_from_the_encoded_bytes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 1, 28, 28), dtype=np.uint8)
    images[1] = 0  # a flat image codes to far fewer bytes than noise
    decoded, sizes, headers = jpeg_roundtrip(images, quality=50)
    for img, size, header in zip(images, sizes, headers, strict=True):
        buf = io.BytesIO()
        Image.fromarray(img[0]).save(buf, format="JPEG", quality=50)
        data = buf.getvalue()
        assert size == len(data)
        assert header == jpeg_header_bytes(data) and 0 < header < size
        assert data[header - 2 : header] != b"\xff\xd9" and data[-2:] == b"\xff\xd9"
    assert len(set(headers.tolist())) == 1  # standard tables: one header for every image
    assert sizes[1] < sizes[0] and sizes[1] < sizes[2]
    assert decoded.shape == images.shape and decoded.dtype == np.float32
    assert np.abs(decoded[1]).max() < 2 / 255  # a flat image survives JPEG
    with pytest.raises(ValueError, match="not a JPEG marker"):
        jpeg_header_bytes(b"\xff\xd8garbage")


def test_quantised_pca_with_many_bits_is_pca():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 20))  # rank 3
    codec = QuantisedPCA(3, 12).fit(x)
    recon = codec.reconstruct(codec.symbols(x))
    assert np.abs(recon - x).max() < 0.05 * np.abs(x).max()
    coarse = QuantisedPCA(3, 2).fit(x)
    assert ((coarse.reconstruct(coarse.symbols(x)) - x) ** 2).mean() > ((recon - x) ** 2).mean()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.code_bits=4", "model.kind=conv"], "needs model.kind = 'dense'"),
        (["model.code_bits=4", "model.code_activation=relu"], "code_activation = 'sigmoid'"),
        (["model.code_bits=4", "model.contractive=0.1"], "contractive"),
    ],
)
def test_bad_quantised_models_are_one_line(overrides, message):
    from nnjournal import models
    from nnjournal.data.bundle import DataInfo

    cfg = recipes.load("ae-vs-pca", ["model.code_activation=sigmoid", *overrides])
    info = DataInfo(name="mnist", input_shape=(1, 28, 28))
    with pytest.raises(NNJError, match=message):
        models.build(cfg.model, info, 784)


def test_compression_task_needs_a_quantised_code(tmp_path):
    require_data("mnist")
    raw = recipes.load_raw("compression-ae")
    del raw["model"]["code_bits"], raw["variants"]
    with pytest.raises(NNJError, match="needs a quantised code"):
        nnj.run(raw, out=tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())  # refused before a run directory exists


QUICK = ["variants={}", "training.epochs=15", "task.jpeg_qualities=[1, 5]"]


def test_compression_ae_beats_quantised_pca_at_its_rate(tmp_path):
    require_data("mnist")
    cfg = recipes.validate_config(recipes.apply_overrides(recipes.load_raw("compression-ae"), QUICK))
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj.run(cfg, out=tmp_path, quiet=True)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert min(elapsed, cpu) < 60, (
        f"compression-ae quick profile took {elapsed:.0f} s wall ({cpu:.0f} s of CPU)"
    )
    m = result.test_metrics["autoencoder"]
    assert m["bits_per_image"] == 128 and m["entropy_bits_per_image"] <= 128
    base = result.summary["baselines"]
    same = base["quantised PCA 32 x 4 bits"]
    assert same["bits_per_image"] == 128
    # Measured (docs/benchmarks.md, "Autoencoder applications"): +0.6 dB at 10 epochs, +2.5 dB at 40.
    assert m["psnr"] > same["psnr"] + 0.5, (m["psnr"], same["psnr"])
    assert m["ssim"] > same["ssim"] + 0.05, (m["ssim"], same["ssim"])
    assert m["psnr"] > base["mean"]["psnr"] + 5
    jpeg = base["JPEG quality 1"]
    # JPEG's smallest file is over 20x the autoencoder's bits; even its payload alone is larger.
    assert jpeg["bits_per_image"] > 20 * 128 and jpeg["payload_bits_per_image"] > 128
    report = (result.run_dir / "report.md").read_text()
    assert "JPEG quality 1" in report and "ideal entropy coder" in report
    assert (result.run_dir / "plots" / "rate_distortion.png").exists()
