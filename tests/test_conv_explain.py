"""`nnj conv explain` against PyTorch's real output sizes, and `nnj conv filters`."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_data
from PIL import Image
from typer.testing import CliRunner

from nnjournal.classic_filters import KERNELS, apply_all, apply_kernel
from nnjournal.cli import app
from nnjournal.conv_explain import ConvArithmetic, explain

runner = CliRunner()


def torch_output_size(n: int, k: int, s: int, p: int, d: int) -> int:
    conv = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    try:
        return conv(torch.zeros(1, 1, n)).shape[-1]
    except RuntimeError:  # "kernel size can't be greater than actual input size"
        return 0


def test_formula_matches_pytorch_over_a_grid() -> None:
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 13), (1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2, 3)):
        if p > (k - 1) * d // 2 + 1:  # PyTorch refuses padding wider than half the kernel span
            continue
        assert ConvArithmetic(n, k, s, p, d).output == torch_output_size(n, k, s, p, d), (n, k, s, p, d)
        checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    "n, k, s, p, d", [(7, 3, 2, 0, 1), (28, 5, 1, 2, 1), (32, 3, 2, 1, 2), (10, 4, 3, 1, 1)]
)
def test_cli_prints_formula_worked_example_and_pytorchs_answer(n, k, s, p, d) -> None:
    result = runner.invoke(
        app,
        ["conv", "explain", "--input", str(n), "--kernel", str(k), "--stride", str(s), "--padding", str(p)]
        + ["--dilation", str(d)],
    )
    assert result.exit_code == 0, result.output
    assert "floor((n + 2p - d(k - 1) - 1) / s) + 1" in result.output
    assert "Worked example" in result.output
    assert result.output.strip().splitlines()[-2] == f"Output size: {torch_output_size(n, k, s, p, d)}"


def test_lecture_example_7_3_2_gives_3() -> None:
    text = explain(7, 3, 2, 0, 1)
    assert "Output size: 3" in text and "Starts (0-based, in the padded input): 0, 2, 4." in text


def test_kernel_wider_than_input_and_bad_arguments() -> None:
    assert "Output size: 0" in explain(3, 5)
    result = runner.invoke(app, ["conv", "explain", "--input", "7", "--kernel", "3", "--stride", "0"])
    assert result.exit_code == 2 and "--stride must be at least 1" in result.output


def test_kernels_do_what_their_names_say() -> None:
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (20, 20)).astype(np.float32)
    np.testing.assert_allclose(apply_kernel(image, KERNELS["identity"]), image)
    flat = np.full((10, 10), 80.0, dtype=np.float32)
    for name in ("edge detection 1 (diagonal)", "edge detection 2 (Laplacian, 4-neighbour)"):
        np.testing.assert_allclose(apply_kernel(flat, KERNELS[name]), 0.0, atol=1e-4)  # no edges, no response
    for name in ("box blur 3x3", "Gaussian blur 5x5", "sharpen"):
        np.testing.assert_allclose(apply_kernel(flat, KERNELS[name]), 80.0, rtol=1e-5)  # weights sum to 1
    assert apply_kernel(image, KERNELS["box blur 3x3"]).std() < image.std() / 2  # blurring removes noise


def test_filters_cli_on_a_real_photo(tmp_path: Path) -> None:
    photo = require_data("images/cats-dogs/test/cat/cat.1.jpg")
    out = tmp_path / "filters.png"
    result = runner.invoke(app, ["conv", "filters", str(photo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as img:
        assert img.width > 800 and img.height > 400
    outputs = apply_all(np.asarray(Image.open(photo).convert("L").resize((64, 48)), dtype=np.float32))
    assert set(outputs) == set(KERNELS) and len(KERNELS) == 7
    assert all(o.shape == (48, 64) and o.dtype == np.uint8 for o in outputs.values())


def test_filters_cli_unreadable_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["conv", "filters", str(bad)])
    assert result.exit_code == 2 and "not a readable image" in result.output


def test_explain_a_huge_input_lists_only_the_first_starts() -> None:
    # It used to build all 10^10 start positions to show 12 of them.
    text = explain(10**10, 3)
    assert "Output size: 9999999998" in text and "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, and so on." in text


@pytest.mark.parametrize(
    "k, d, even", [(3, 1, True), (2, 1, False), (2, 2, True), (4, 3, False), (5, 2, True)]
)
def test_same_padding_is_even_when_the_dilated_span_is_odd(k: int, d: int, even: bool) -> None:
    text = explain(16, k, d=d)
    assert ("cannot be padded evenly" not in text) == even
    if even:  # and that padding really keeps the size
        conv = torch.nn.Conv1d(1, 1, k, padding=d * (k - 1) // 2, dilation=d)
        assert conv(torch.zeros(1, 1, 16)).shape[-1] == 16


def test_filters_default_output_goes_to_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    # Beside the photo, inside a class folder, the figure would become a training image.
    photos = tmp_path / "photos" / "cat"
    photos.mkdir(parents=True)
    Image.new("RGB", (1, 1), (9, 9, 9)).save(photos / "tiny.png")  # 1x1: reflection padding fails
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["conv", "filters", str(photos / "tiny.png")])
    assert result.exit_code == 0, result.output
    assert (work / "tiny_filters.png").exists()
    assert [p.name for p in photos.iterdir()] == ["tiny.png"]
