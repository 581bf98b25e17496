import copy

import pytest
import torch
from helpers import uninterrupted_and_resumed
from torch import nn

from nnjournal import data, fit
from nnjournal.config import TrainingConfig
from nnjournal.data.bundle import Split
from nnjournal.training.predict import predict_outputs


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def _linear_problem(n=32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    return x, y


def test_batch_regime_takes_exactly_one_full_batch_gradient_step_per_epoch():
    x, y = _linear_problem()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1))
    expected = copy.deepcopy(model)
    lr = 0.1
    fit(model, (x, y), task="regression", epochs=1, regime="batch", optimizer={"name": "sgd", "lr": lr})
    loss = nn.functional.mse_loss(expected(x).squeeze(1), y)
    loss.backward()
    with torch.no_grad():
        for p in expected.parameters():
            p -= lr * p.grad
    for got, want in zip(model.parameters(), expected.parameters(), strict=True):
        torch.testing.assert_close(got, want)


def test_stochastic_regime_takes_one_step_per_example():
    x, y = _linear_problem(n=10)
    model = nn.Sequential(nn.Linear(3, 1))
    steps = []
    model.register_forward_hook(lambda m, i, o: steps.append(len(i[0])) if m.training else None)
    fit(model, (x, y), task="regression", epochs=2, regime="stochastic")
    assert steps == [1] * 20


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw"])
def test_every_optimizer_reduces_the_loss(name, digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    lr = {"adadelta": 1.0, "sgd": 0.1, "adagrad": 0.1}.get(name, 0.01)
    h = fit(model, digits.train, task="classification", epochs=4, optimizer={"name": name, "lr": lr})
    losses = h.series("train_loss")
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine", "onecycle"])
def test_lr_schedules_change_the_learning_rate(schedule, digits):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    h = fit(
        model, digits.train, epochs=4, schedule={"name": schedule, "step_size": 1}, optimizer={"lr": 0.01}
    )
    lrs = h.series("lr")
    assert len(set(lrs)) > 1


def test_plateau_schedule_halves_the_rate_exactly_after_epochs_the_monitor_did_not_improve(digits):
    # val_accuracy is maximised: a schedule that took it for a loss would halve after improvements.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    h = fit(
        model, digits.train, digits.val, epochs=12, optimizer={"lr": 0.05},
        schedule={"name": "plateau", "patience": 0, "gamma": 0.5},
        early_stopping={"monitor": "val_accuracy"},
    )
    lrs, accs = h.series("lr"), h.series("val_accuracy")
    best = -1.0
    halved = []
    for epoch in range(len(lrs) - 1):
        improved = accs[epoch] > best
        best = max(best, accs[epoch])
        assert lrs[epoch + 1] == pytest.approx(lrs[epoch] * (1.0 if improved else 0.5))
        halved.append(not improved)
    assert any(halved) and not all(halved)  # the test saw both cases


def test_vectorized_training_refuses_a_plateau_schedule_and_auto_falls_back():
    from nnjournal.errors import NNJError
    from nnjournal.training.vectorized import should_vectorize

    nets = [nn.Linear(4, 2) for _ in range(8)]
    assert should_vectorize("auto", nets, "none")
    assert not should_vectorize("auto", nets, "plateau")
    with pytest.raises(NNJError, match="plateau"):
        should_vectorize(True, nets, "plateau")


def test_penalty_is_reported_apart_from_the_data_loss(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    h = fit(model, digits.train, epochs=2, penalty={"l1": 1e-3, "l2": 1e-3})
    rec = h.records[-1]
    assert rec["train_penalty"] > 0
    # The logged data loss is the cross-entropy alone: recompute it from the model.
    assert "train_loss" in rec and rec["train_loss"] < 2.5


def test_l1_drives_more_weights_to_zero_than_l2(digits):
    from nnjournal.regularization import near_zero_fraction

    fractions = {}
    for kind in ("l1", "l2"):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        fit(model, digits.train, epochs=15, penalty={kind: 1e-3}, optimizer={"lr": 0.01})
        fractions[kind] = near_zero_fraction(model, tol=1e-2)
    assert fractions["l1"] > fractions["l2"] + 0.2


def test_best_weights_are_restored_even_without_early_stop(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    # A large learning rate makes the validation loss bounce, so the last epoch is not the best.
    h = fit(model, digits.train, digits.val, epochs=25, optimizer={"name": "sgd", "lr": 0.5})
    assert not h.stopped_early
    assert h.best_epoch is not None
    val_loss = nn.functional.cross_entropy(predict_outputs(model, digits.val.x), digits.val.y)
    assert float(val_loss) == pytest.approx(h.best_value, rel=1e-5)
    if h.best_epoch != len(h.records):
        assert h.restored_best


def test_early_stopping_stops_after_patience(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    h = fit(
        model, digits.train, digits.val, epochs=300, early_stopping={"patience": 3}, optimizer={"lr": 0.01}
    )
    assert h.stopped_early
    assert len(h.records) == h.best_epoch + 3


def test_same_seed_same_numbers(digits):
    def once():
        torch.manual_seed(1)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Dropout(0.3), nn.ReLU(), nn.Linear(32, 10))
        return fit(model, digits.train, digits.val, epochs=3, seed=5).records

    a, b = once(), once()
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in a]
    assert strip == [{k: v for k, v in r.items() if k != "time_s"} for r in b]


def test_gradient_norms_are_logged_per_layer(digits):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    h = fit(model, digits.train, epochs=1, log_grad_norms=True, clip={"norm": 1.0})
    assert set(h.records[0]["grad_norm"]) == {"1.weight", "3.weight"}


def test_invalid_option_is_a_user_error(digits):
    from nnjournal.errors import NNJError

    with pytest.raises(NNJError, match="optimizer.name"):
        fit(nn.Linear(64, 10), digits.train, optimizer={"name": "adamax"})


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])  # plateau: its bad-epoch count is resumed too
def test_resume_after_a_kill_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, digits, schedule):
    cfg = TrainingConfig(epochs=6, checkpoint_every_s=0, schedule={"name": schedule, "patience": 0})

    def make():
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Dropout(0.2), nn.ReLU(), nn.Linear(32, 10))

    full, resumed, h = uninterrupted_and_resumed(
        make, digits.train, digits.val, cfg, tmp_path / "checkpoint", kill_at=2
    )
    assert len(h.records) == 6
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_augment_accepts_the_config_section_as_a_keyword(digits):
    seen = []
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()) if m.training else None)
    fit(model, digits.train, epochs=1, regime="batch", augment={"noise_std": 0.5})
    # The training batch is the (shuffled) training set plus noise: no row equals a clean row.
    clean = digits.train.x.reshape(len(digits.train), -1)
    noisy = seen[0].reshape(len(clean), -1)
    assert not any(torch.equal(noisy[0], row) for row in clean)


def test_batch_norm_meets_a_last_mini_batch_of_one_example(digits):
    # 65 rows in batches of 64: the last batch is one example, which BatchNorm1d cannot
    # normalise in training mode; it is skipped instead of crashing the epoch.
    from nnjournal.models import MLP

    train = Split(digits.train.x[:65], digits.train.y[:65])
    model = MLP(64, [16], 10, norm="batch")
    h = fit(model, train, epochs=2, batch_size=64)
    assert len(h.records) == 2 and all(torch.isfinite(p).all() for p in model.parameters())


def test_logged_training_numbers_are_those_of_adding_batch_by_batch_on_the_device(digits):
    """The epoch's train loss and accuracy are totalled at the epoch's end (`Deferred`), yet equal
    what `total += loss * n` and `right += (argmax == y).sum()` give when added batch by batch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    reference = copy.deepcopy(model)
    x, y = digits.train.x, digits.train.y
    history = fit(model, (x, y), epochs=2, batch_size=50, seed=3, optimizer={"name": "sgd", "lr": 0.1})

    opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(3)
    for epoch in range(2):
        order = torch.randperm(len(x), generator=gen)
        loss_total, right = torch.zeros(()), torch.zeros(())
        for start in range(0, len(x), 50):
            idx = order[start : start + 50]
            out = reference(x[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            loss_total += loss.detach() * len(idx)
            right += (out.detach().argmax(1) == y[idx]).sum()
        record = history.records[epoch]
        assert record["train_loss"] == float(loss_total) / len(x)  # exactly, not approximately
        assert record["train_accuracy"] == float(right) / len(x)


def test_epoch_total_adds_in_order_in_the_sums_precision():
    from nnjournal.tasks.base import epoch_total

    values = [torch.tensor(v, dtype=torch.float32) for v in (1e8, 1.0, -1e8, 3.25, 1e-3)]
    device_total = torch.zeros(())
    for v in values:
        device_total += v
    assert epoch_total(values) == float(device_total)  # 1e8 + 1 rounds away the 1 in float32, in order
    doubles = [v.double() for v in values]
    assert epoch_total(doubles) == sum(float(v) for v in doubles)
