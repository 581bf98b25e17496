"""How strong should each regularizer be? The sweep behind the strengths in
`nnjournal.studies.regularization.TECHNIQUES`.

Loads a study recipe's data and base model (default `regularization-study`: MNIST-10k, 500
training images, MLP 256-256, Adam), trains each candidate setting with a few seeds and prints
mean train / validation / test error and the generalization gap. Pick strengths by the
validation column; the test column is shown only to see how well validation predicts it.

    NNJ_DATA_DIR=../shared/data python benchmarks/regularization_strengths.py [--seeds 3] [--epochs 100] [--only l2 AdamW]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from nnjournal import data, recipes
from nnjournal.data.bundle import DataBundle
from nnjournal.studies.common import error, load_task, subsample, train_seeds, with_overrides
from nnjournal.studies.regularization import AUGMENTATION, augmentation_for

AUG = AUGMENTATION  # the augmentation that fits the data (images: shift/rotate/zoom)
CANDIDATES: dict[str, dict[str, Any]] = {
    "none": {},
    "l2 1e-4": {"training": {"penalty": {"l2": 1e-4}}},
    "l2 1e-3": {"training": {"penalty": {"l2": 1e-3}}},
    # Decoupled weight decay (AdamW): the decay does not pass through Adam's per-weight
    # scaling, unlike an L2 term in the loss (Loshchilov & Hutter, 2019).
    "weight decay 0.01 (AdamW)": {"training": {"optimizer": {"name": "adamw", "weight_decay": 0.01}}},
    "weight decay 0.1 (AdamW)": {"training": {"optimizer": {"name": "adamw", "weight_decay": 0.1}}},
    "weight decay 0.5 (AdamW)": {"training": {"optimizer": {"name": "adamw", "weight_decay": 0.5}}},
    "weight decay 2 (AdamW)": {"training": {"optimizer": {"name": "adamw", "weight_decay": 2.0}}},
    # Noise on the weights for each step's gradient; He-initialised first-layer weights have
    # std sqrt(2/784) = 0.05, so 0.01-0.05 is a few to 100 percent of their spread.
    "weight noise 0.01": {"training": {"weight_noise": 0.01}},
    "weight noise 0.02": {"training": {"weight_noise": 0.02}},
    "weight noise 0.05": {"training": {"weight_noise": 0.05}},
    "l1 1e-5": {"training": {"penalty": {"l1": 1e-5}}},
    "l1 3e-5": {"training": {"penalty": {"l1": 3e-5}}},
    "l1 1e-4": {"training": {"penalty": {"l1": 1e-4}}},
    "dropout 0/0.3": {"model": {"dropout_hidden": 0.3}},
    "dropout 0.1/0.5": {"model": {"dropout_input": 0.1, "dropout_hidden": 0.5}},  # the lecture's
    "dropout 0.2/0.5": {"model": {"dropout_input": 0.2, "dropout_hidden": 0.5}},
    "batch norm": {"model": {"norm": "batch"}},
    "augmentation": {"training": {"augment": AUG}},
    "augmentation + dropout 0/0.3": {"model": {"dropout_hidden": 0.3}, "training": {"augment": AUG}},
    "augmentation + dropout 0.2/0.5": {
        "model": {"dropout_input": 0.2, "dropout_hidden": 0.5},
        "training": {"augment": AUG},
    },
    "augmentation + dropout 0/0.3 + l2 1e-4 + early stop": {
        "model": {"dropout_hidden": 0.3},
        "training": {
            "augment": AUG,
            "penalty": {"l2": 1e-4},
            "early_stopping": {"patience": 20, "restore_best": True},
        },
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="regularization-study")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--only", nargs="*", default=None, help="settings whose name contains one of these")
    parser.add_argument("--train-size", type=int, default=None, help="default: the recipe's study.train_size")
    args = parser.parse_args()
    cfg = recipes.load(args.recipe)
    cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"epochs": args.epochs})})
    bundle = data.load(cfg.data, seed=cfg.seed, task=cfg.task.name)
    size = args.train_size or (cfg.study.train_size if cfg.study else None) or 500
    bundle = DataBundle(
        subsample(bundle.train, size, cfg.seed), bundle.val, bundle.test, bundle.info, bundle.preprocessing
    )
    task = load_task(cfg, bundle)
    images = len(bundle.info.input_shape) == 3
    print(f"{args.recipe}: {bundle.describe()}, {len(bundle.train)} training examples, {args.epochs} epochs")
    print(f"{'setting':<52} {'train':>6} {'val':>6} {'test':>6} {'gap':>6} {'s':>5}")
    for name, partial in CANDIDATES.items():
        if args.only and not any(word in name for word in args.only):
            continue
        t0 = time.perf_counter()
        runs = train_seeds(
            with_overrides(cfg, augmentation_for(partial, images)), bundle, task, list(range(args.seeds))
        )
        errs = [
            statistics.mean(error(m, split, task) for m in runs.models)
            for split in (bundle.train, bundle.val, bundle.test)
        ]
        print(
            f"{name:<52} {errs[0]:>6.3f} {errs[1]:>6.3f} {errs[2]:>6.3f} {errs[2] - errs[0]:>6.3f} "
            f"{time.perf_counter() - t0:>5.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
