"""`nnj show`: every setting (unset ones as comments), only those that apply to the recipe's
task and data, and an output that reads back as the same recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import nnj

from nnjournal import recipes
from nnjournal.config.show import show_toml


def _table(text: str, name: str) -> list[str]:
    """The lines of table `[name]` in `text`, up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(f"[{name}]") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_show_tabular_lists_the_settings_whose_default_is_empty():
    shown = nnj("show", "tabular")
    assert shown.exit_code == 0, shown.stderr
    data = _table(shown.stdout, "data")
    assert "# path = (none): the CSV file; default: shared_file under NNJ_DATA_DIR" in data
    assert "# target = (none): the column to predict" in data
    assert "# delimiter = (none): field separator; None = guess from the file" in data
    assert "# norm = (none): clip the global gradient norm" in _table(shown.stdout, "training.clip")
    given = nnj("show", "tabular", "--set", "data.target=Churn").stdout
    assert 'target = "Churn"' in _table(given, "data") and "# target = (none)" not in given


def test_a_classifier_shows_no_autoencoder_gan_or_image_settings():
    text = nnj("show", "tabular").stdout
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    for name in ("mask_fraction", "salt_pepper_fraction", "square_mask", "downstream", "pca_components", "hflip"):
        assert not any(line.startswith(f"{name} =") for line in settings), name
    assert "[training.adversarial]" not in settings
    assert _table(text, "training.augment") == ["noise_std = 0.0", "feature_dropout = 0.0"]
    assert "do not apply to a classification task on csv data" in text  # and says what it left out
    everything = nnj("show", "tabular", "--all").stdout
    assert "[training.adversarial]" in everything and "mask_fraction = 0.0" in everything


def test_each_kind_of_recipe_keeps_its_own_settings():
    ae = nnj("show", "denoising-ae").stdout
    assert "downstream = " in ae and any(line.startswith(("mask_fraction", "noise_std")) for line in ae.splitlines())
    assert "[training.adversarial]" not in ae and "[evaluation.threshold]" not in ae
    gan = nnj("show", "gan-mnist").stdout
    assert "[training.adversarial]" in gan and "[training.optimizer]" not in gan
    images = _table(nnj("show", "flowers-cnn").stdout, "training.augment")
    assert "hflip = true" in images and "cutout = 0" in images and not any("mask_fraction" in x for x in images)
    # A setting that does not apply is still shown once it is set, so nothing set is hidden.
    odd = nnj("show", "tabular", "--set", "training.augment.mask_fraction=0.1").stdout
    assert "mask_fraction = 0.1" in _table(odd, "training.augment")


@pytest.mark.parametrize("everything", [False, True])
def test_what_show_prints_reads_back_as_the_same_recipe(tmp_path: Path, everything: bool):
    for name in recipes.names():
        cfg = recipes.load(name, [])
        path = tmp_path / f"{name}.toml"
        path.write_text(show_toml(cfg, everything=everything))
        assert recipes.load(str(path), []).model_dump() == cfg.model_dump(), name
