"""Peers: the same MLP trained through a hand loop, `nnjournal.fit`, Lightning, skorch and Keras 3.

Every contestant trains the same network (784-256-128-10, ReLU) from the same initial weights
on the same MNIST tensors (flattened, float32 / 255) with Adam (lr 1e-3), batch 128, for the
same number of epochs, on the CPU with one torch thread. Rounds interleave the contestants,
rotating their order, so machine load falls on all alike; each one's median training time (wall
and process CPU) is printed as a ratio to the hand loop's, with its mean test accuracy and the
load average.

    pip install -e '.[bench]'   # lightning, skorch, keras; a missing one is skipped with a reason
    NNJ_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/peers.py [--rounds 5] [--epochs 5]

Timed: from a freshly initialised model and the tensors in memory to a trained model, which
includes each framework's own set-up (Trainer, NeuralNetClassifier, compile), not imports or
evaluation. Each contestant first runs one untimed epoch so lazy initialisation is not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# Before torch (and keras) are imported: the comparison is of CPU training loops, so no
# contestant may pick a GPU that another does not use; Keras reads its backend once, at import.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import nnjournal as nnj  # noqa: E402
from nnjournal.config import IdxImagesData  # noqa: E402

Data = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # x, y, x_test, y_test
# A contestant trains `model` in place (or a copy of its weights) and returns test predictions.
Contestant = Callable[[nn.Module, Data, int, int, int], torch.Tensor]


def make_model(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x).argmax(1)


def hand_loop(model: nn.Module, d: Data, epochs: int, batch_size: int, seed: int) -> torch.Tensor:
    """What a practitioner writes: shuffle, slice, step (the loop of trainer_overhead.py)."""
    x, y, xt, _ = d
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    return _predict(model, xt)


def nnjournal_fit(model: nn.Module, d: Data, epochs: int, batch_size: int, seed: int) -> torch.Tensor:
    x, y, xt, _ = d
    nnj.fit(
        model, (x, y), epochs=epochs, batch_size=batch_size, seed=seed, device="cpu",
        optimizer={"name": "adam", "lr": 1e-3},
    )  # fmt: skip
    return _predict(model, xt)


def _lightning(stripped: bool) -> Contestant:
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    # "GPU available: False", "`Trainer.fit` stopped: max_epochs reached": one line per run each.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")

    class Classifier(pl.LightningModule):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    def train(model: nn.Module, d: Data, epochs: int, batch_size: int, seed: int) -> torch.Tensor:
        x, y, xt, _ = d
        torch.manual_seed(seed)  # the DataLoader's shuffling
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
        with tempfile.TemporaryDirectory() as root:
            if stripped:
                trainer = pl.Trainer(
                    max_epochs=epochs, accelerator="cpu", default_root_dir=root, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                )  # fmt: skip
                trainer.fit(Classifier(model), loader)
            else:
                # Defaults: a CSV/TensorBoard logger, a checkpoint per epoch and a progress bar,
                # whose output is swallowed here (a terminal would cost a little more).
                trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", default_root_dir=root)
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    trainer.fit(Classifier(model), loader)
        return _predict(model, xt)

    return train


def _skorch() -> Contestant:
    from skorch import NeuralNetClassifier

    def train(model: nn.Module, d: Data, epochs: int, batch_size: int, seed: int) -> torch.Tensor:
        x, y, xt, _ = d
        torch.manual_seed(seed)
        net = NeuralNetClassifier(
            model,  # an instance is used as given: same initial weights as everyone else
            criterion=nn.CrossEntropyLoss,  # the module returns logits, not probabilities
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=batch_size,
            train_split=None,  # no internal validation split: train on all of x like the others
            iterator_train__shuffle=True,  # skorch's DataLoader does not shuffle by default
            device="cpu",
            verbose=0,
        )
        net.fit(x, y)
        return _predict(model, xt)

    return train


def _keras() -> Contestant:
    import keras

    def train(model: nn.Module, d: Data, epochs: int, batch_size: int, seed: int) -> torch.Tensor:
        x, y, xt, _ = d
        keras.utils.set_random_seed(seed)
        km = keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(10),
            ]
        )
        # The torch model's initial weights (Keras stores kernels as (in, out)), so only the
        # framework differs, not the initialisation (Keras would draw Glorot-uniform).
        linears = [m for m in model if isinstance(m, nn.Linear)]
        for layer, lin in zip(km.layers, linears, strict=True):
            layer.set_weights([lin.weight.detach().numpy().T, lin.bias.detach().numpy()])
        km.compile(
            optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-8),  # torch's epsilon (Keras: 1e-7)
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        km.fit(x.numpy(), y.numpy(), batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
        return torch.from_numpy(np.asarray(km.predict(xt.numpy(), batch_size=1024, verbose=0)).argmax(1))

    return train


def contestants() -> tuple[dict[str, Contestant], dict[str, str]]:
    """The contestants whose framework is installed, and why each other one is skipped."""
    found: dict[str, Contestant] = {"hand loop": hand_loop, "nnjournal.fit": nnjournal_fit}
    skipped: dict[str, str] = {}
    peers: list[tuple[str, Callable[[], Contestant]]] = [
        ("lightning (defaults)", lambda: _lightning(stripped=False)),
        ("lightning (stripped)", lambda: _lightning(stripped=True)),
        ("skorch", _skorch),
        ("keras 3 (torch)", _keras),
    ]
    for name, build in peers:
        try:
            found[name] = build()
        except ImportError as err:
            skipped[name] = f"{err} (pip install -e '.[bench]')"
    return found, skipped


def load_mnist(max_train: int, seed: int) -> Data:
    # All ten thousand images of the shared t10k files: 8,000 train / 2,000 test, no validation.
    bundle = nnj.load(IdxImagesData(max_train=max_train, val_fraction=0.0, download=False), seed=seed)

    def flat(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(len(t), -1).to(torch.float32) / 255.0  # (n, 784) in [0, 1]

    return flat(bundle.train.x), bundle.train.y, flat(bundle.test.x), bundle.test.y


def _load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-train", type=int, default=8000)
    args = parser.parse_args()
    if "NNJ_DATA_DIR" not in os.environ:
        default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
        os.environ["NNJ_DATA_DIR"] = str(default)
    torch.set_num_threads(1)
    d = load_mnist(args.max_train, seed=0)
    found, skipped = contestants()
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")

    for train in found.values():  # untimed: first optimizer step, Keras tracing, Lightning set-up
        train(make_model(0), d, 1, args.batch_size, 0)
    print(
        f"MNIST {len(d[0]):,} train / {len(d[2]):,} test, MLP 784-256-128-10, Adam 1e-3, batch "
        f"{args.batch_size}, {args.epochs} epochs, {args.rounds} rounds, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread; {_load_line()} at the start"
    )
    names = list(found)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    # CPU time of the whole process (every thread): on a shared, overloaded machine wall time
    # also counts waiting for a core, CPU time only the work a contestant itself does.
    cpu: dict[str, list[float]] = {n: [] for n in names}
    accuracy: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            model = make_model(r)  # same initial weights for every contestant within a round
            start, start_cpu = time.perf_counter(), time.process_time()
            pred = found[name](model, d, args.epochs, args.batch_size, r)
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            accuracy[name].append((pred == d[3]).float().mean().item())

    base, base_cpu = statistics.median(seconds["hand loop"]), statistics.median(cpu["hand loop"])
    print(
        f"{'contestant':22s} {'median s':>9s} {'x hand loop':>12s} {'range':>13s} "
        f"{'CPU s':>7s} {'CPU x':>6s} {'test acc':>9s}"
    )
    for name in names:
        wall, cpu_s = statistics.median(seconds[name]), statistics.median(cpu[name])
        ratios = [s / h for s, h in zip(seconds[name], seconds["hand loop"], strict=True)]
        print(
            f"{name:22s} {wall:9.3f} {wall / base:11.2f}x {min(ratios):6.2f}-{max(ratios):.2f}x "
            f"{cpu_s:7.3f} {cpu_s / base_cpu:5.2f}x {statistics.mean(accuracy[name]):9.4f}"
        )
    print(
        f"{_load_line()} at the end; range = per-round wall ratio to that round's hand loop; "
        "CPU = median process CPU time"
    )


if __name__ == "__main__":
    main()
