"""Shared fixtures. Tests that need the shared real data skip with a reason when it is
absent, and fail instead when NNJ_REQUIRE_DATA=1 (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# `make test` runs two pytest workers on a 2-core machine: one torch thread each, because two
# workers x two threads oversubscribe the cores and small-model steps then stall in thread
# synchronisation (measured: 2 ms per step on one thread vs 36 ms on two under load).
# A single pytest process keeps two threads.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1))


def require_data(relative: str) -> Path:
    """Path of a file or folder under $NNJ_DATA_DIR, or skip/fail with a clear reason."""
    root = os.environ.get("NNJ_DATA_DIR")
    path = Path(root) / relative if root else None
    if path is not None and path.exists():
        return path
    reason = f"needs shared data {relative!r} under NNJ_DATA_DIR (set NNJ_DATA_DIR=../shared/data)"
    if os.environ.get("NNJ_REQUIRE_DATA") == "1":
        pytest.fail(f"NNJ_REQUIRE_DATA=1 but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module's tests, the count before put back after: small models
    are dominated by per-operation overhead, and a second intra-op thread only contends with
    the other on a busy 2-core machine. Used as `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    from nnjournal.training.threads import intra_op_threads

    with intra_op_threads(1):
        yield


@pytest.fixture
def data_dir() -> Path:
    """The shared data folder (skip/fail rules as in `require_data`)."""
    return require_data("")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Generated/decoded data is cached per test session, never in the user's home.
    monkeypatch.setenv("NNJ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def nnj(tmp_path_factory: pytest.TempPathFactory):
    """`nnj ARGS` in forked children of one CLI server per test module (test_bad_inputs.Nnj:
    the CLI imported once, not per call)."""
    from test_bad_inputs import Nnj

    server = Nnj(tmp_path_factory.mktemp("nnj"))
    yield server
    server.close()
