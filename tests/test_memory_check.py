"""A model too large to train in this machine's memory is refused before the run starts
(training/memory.py), instead of being killed by the kernel at the first step."""

from __future__ import annotations

import pytest
from torch import nn

from nnjournal.config.training import OptimizerConfig
from nnjournal.errors import NNJError
from nnjournal.training.memory import available_memory, check_trainable_in_memory

MODEL = nn.Linear(1000, 1000)  # 1,001,000 float32 weights: 4,004,000 bytes
WEIGHTS = 4_004_000


def test_adam_needs_a_gradient_and_two_state_copies_per_weight() -> None:
    adam = OptimizerConfig(name="adam")
    check_trainable_in_memory(MODEL, adam, available=3 * WEIGHTS)
    with pytest.raises(
        NNJError, match=r"1,001,000 weights .* needs about 0.0 GiB more .*adam's state.*model.hidden"
    ):
        check_trainable_in_memory(MODEL, adam, available=3 * WEIGHTS - 1)


def test_plain_sgd_needs_only_the_gradients_and_momentum_one_copy_more() -> None:
    check_trainable_in_memory(MODEL, OptimizerConfig(name="sgd"), available=WEIGHTS)
    with pytest.raises(NNJError, match="sgd's state"):
        check_trainable_in_memory(MODEL, OptimizerConfig(name="sgd", momentum=0.9), available=WEIGHTS)


def test_unknown_free_memory_checks_nothing_and_this_machine_reports_some() -> None:
    check_trainable_in_memory(MODEL, OptimizerConfig(), available=None)
    free = available_memory()
    assert free is None or free > 0
    if free is not None:  # every recipe-sized model trains here
        check_trainable_in_memory(MODEL, OptimizerConfig(), available=free)
