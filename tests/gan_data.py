"""What the GAN test files share: MNIST-10k (8,000 train / 2,000 test, no validation split) and
the evaluation classifier, trained once per test session into the session's cache folder."""

from __future__ import annotations

import pytest
from conftest import require_data

from nnjournal.config import IdxImagesData
from nnjournal.data.bundle import DataBundle
from nnjournal.data.idx import load_idx_images
from nnjournal.evaluation.generative import GenerativeEvaluator


def mnist(tmp_path_factory: pytest.TempPathFactory, max_train: int | None = None) -> DataBundle:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    with pytest.MonkeyPatch.context() as mp:
        # Module fixtures are built before conftest's per-test cache isolation applies: point the
        # cache at the same session folder ourselves, never at the user's home.
        mp.setenv("NNJ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        return load_idx_images(IdxImagesData(val_fraction=0.0, max_train=max_train), seed=0)


def evaluator(tmp_path_factory: pytest.TempPathFactory, bundle: DataBundle) -> GenerativeEvaluator:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNJ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        return GenerativeEvaluator(bundle.train, 10, name="mnist")
