"""The GAN task: learn to generate the data set's images, judged by `evaluation/generative.py`.

Training is a two-player game, so this task has no single loss to hand a supervised trainer: it
names the adversarial trainer (`training/adversarial.py`), whose step is the discriminator's
step then the generator's. What belongs here is the rest of a task: which way each number is
better, the evaluation classifier and the real images' numbers as the ceiling, the report's
figures and the conclusion — including whether the generator collapsed, from the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.evaluation.generative import ClassifierSettings, GenerativeEvaluator, collapse_verdict
from nnjournal.tasks.base import Direction, StepOutput
from nnjournal.training.adversarial import LOGGED

REAL = "real test images"  # the baseline's name: the ceiling every generator is compared with


class GANTask:
    name = "gan"
    headline = "frechet_distance"
    trainer = "adversarial"
    out_features = 1
    data_kind = "classification"  # labelled images: the evaluation classifier and conditioning need labels
    ensemble_outputs = None
    early_stopping = False  # the adversarial trainer has no monitor: G's loss says little about G's images
    logged = list(LOGGED)
    directions: dict[str, Direction] = {
        "frechet_distance": "min",
        "inception_score": "max",
        "coverage": "max",
        "class_kl": "min",
        "confidence": "max",
        "diversity": "max",
        "conditional_accuracy": "max",
        # Memorisation check: a copying generator sits near 0; real test images show the normal level.
        "nearest_train_distance": "max",
        # The per-epoch numbers of the game, seen from the generator (whose samples are the
        # product): it wants D fooled. They describe the game; early stopping should not use them.
        "g_loss": "min",
        "d_loss": "max",
        "minimax_value": "min",
        "d_real": "min",
        "d_fake": "max",
    }

    def __init__(
        self,
        info: DataInfo,
        *,
        samples: int | None = None,
        seed: int = 0,
        settings: ClassifierSettings | None = None,
        snapshots: int = 4,
        snapshot_samples: int = 32,
    ) -> None:
        if not info.is_image or not info.n_classes:
            raise NNJError(
                f"task.name='gan' needs labelled images (its evaluation classifier), but {info.name!r} is not"
            )
        if info.n_classes < 2:  # one class: the classifier's numbers (IS, coverage, FID) say nothing
            raise NNJError(
                f"task.name='gan' judges its images with a classifier of the data's classes, but {info.name!r} "
                f"has one class ({', '.join(info.class_names or ['?'])}); sort the photos into at least two class "
                "sub-folders (data.classes = true)"
            )
        self.info, self.samples, self.seed = info, samples, seed
        # The classifier's own seed stays fixed: runs with different seeds get the same judge.
        self.settings = settings or ClassifierSettings()
        self.evaluator: GenerativeEvaluator | None = None
        self.snapshots, self.snapshot_samples = snapshots, snapshot_samples
        self.snapshot_epochs: list[int] = []
        self.sample_snapshots: Any = None  # the SampleSnapshots hook of this task's training
        self.real: dict[str, float] | None = None  # the real test images' numbers (baselines)
        self._memo: dict[Any, dict[str, float]] = {}

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: DataBundle | None = None) -> GANTask:
        """`[task] name = "gan"`: samples per evaluation, snapshot epochs, classifier epochs."""
        return cls(
            info,
            samples=section.samples,
            settings=ClassifierSettings(epochs=section.classifier_epochs),
            snapshots=section.snapshots,
            snapshot_samples=section.snapshot_samples,
        )

    @property
    def report_metrics(self) -> list[str]:
        return [
            "frechet_distance", "inception_score", "coverage", "class_kl", "conditional_accuracy",
            "nearest_train_distance", "diversity",
        ]

    # -------------------------------------------------------------- the step
    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        raise TypeError("a GAN trains with two optimizers: use training.adversarial.fit_adversarial")

    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        raise TypeError("a GAN is evaluated on generated samples: use GANTask.evaluate")

    # -------------------------------------------------------------- after training
    def prepare_data(self, bundle: DataBundle, cfg: Any = None) -> DataBundle:
        """Builds (or reads from the cache) the evaluation classifier on the training split, and
        picks the snapshot epochs from `cfg.training.epochs`; the seed is the run's."""
        if len(bundle.train) < 2 or len(bundle.test) < 2:
            raise NNJError("task.name='gan' needs at least 2 training and 2 test images")
        self.evaluator = GenerativeEvaluator(
            bundle.train, int(self.info.n_classes), settings=self.settings, name=self.info.name
        )
        if cfg is not None:
            from nnjournal.journal.gan_plots import snapshot_epochs

            self.seed = cfg.seed
            self.snapshot_epochs = snapshot_epochs(cfg.training.epochs, self.snapshots) if self.snapshots else []
        return bundle

    def training_callbacks(self, model: torch.nn.Module, folder: Path | None) -> list[Any]:
        """Called by the adversarial trainer: samples from fixed noise at the snapshot epochs,
        kept as .npy in the run's folder so a resumed run still shows the early ones."""
        if not self.snapshot_epochs:
            return []
        from nnjournal.journal.gan_plots import SampleSnapshots
        from nnjournal.training.callbacks import EpochFunction

        self.sample_snapshots = SampleSnapshots(
            model, epochs=self.snapshot_epochs, n=self.snapshot_samples, seed=self.seed, folder=folder
        )
        return [EpochFunction(self.sample_snapshots)]

    def check_model(self, model: torch.nn.Module, bundle: DataBundle, cfg: Any) -> None:
        """The preflight's hook (before the run directory exists): the adversarial trainer's
        options, which it would otherwise refuse only once the run had started."""
        from nnjournal.training.adversarial import check_options

        check_options(cfg.training, len(bundle.train))

    def finish(self, result: Any, cfg: Any) -> None:
        """Nothing beyond the metrics."""

    def _evaluator(self) -> GenerativeEvaluator:
        if self.evaluator is None:
            raise RuntimeError("GANTask.prepare_data(bundle) must run before evaluation")
        return self.evaluator

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        """The generator's numbers on `samples` images (default: as many as `split` has), seeded
        by the run's seed; a conditional GAN is asked for balanced classes. A generator has no
        per-split numbers: every split of the same size gets the same samples (computed once),
        so the journal's train-vs-test gap is 0 rather than sampling noise."""
        n = self.samples or len(split)
        key = (id(model), n, _fingerprint(model))
        if key not in self._memo:
            self._memo = {key: self._evaluator().generated_metrics(model, n, seed=self.seed)}
        return dict(self._memo[key])

    def baselines(self, bundle: DataBundle, cfg: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """No fitted baseline: the real test images' numbers are the ceiling."""
        self.real = self._evaluator().real_metrics(bundle.test)
        return {}, {REAL: self.real}

    def summary_extras(self, result: Any) -> dict[str, Any]:
        return {}

    def describe_model(self, cfg: Any) -> str | None:
        m = cfg.model
        kinds = {
            "vanilla": "vanilla GAN (MLPs)",
            "cgan": "conditional GAN (MLPs, label embedding in G and D)",
            "dcgan": "DCGAN (strided and transposed convolutions, batch norm in G)",
            "cdcgan": "conditional DCGAN (label embedding in G and D)",
        }
        size = f"G hidden {list(m.hidden)}" if m.kind in ("vanilla", "cgan") else f"width {m.width}"
        ema = ", samples from G's moving average" if m.ema else ""
        return f"{kinds[m.kind]}, {m.latent}-D noise, {size}{ema}"

    def describe_training(self, cfg: Any, history: Any) -> str:
        t, a = cfg.training, cfg.training.adversarial
        parts = [
            f"adversarial: Adam lr D {a.lr_d:g} / G {a.lr_g:g}, betas {tuple(a.betas)}",
            f"batch {t.batch_size}",
            f"{history.to_dict()['epochs_run']}/{t.epochs} epochs",
            "non-saturating generator loss",
        ]
        if a.n_critic > 1:
            parts.append(f"{a.n_critic} discriminator steps per generator step")
        if a.label_smoothing:
            parts.append(f"one-sided label smoothing {a.label_smoothing:g}")
        if cfg.model.ema:
            parts.append(f"samples from G's moving average (decay {a.ema_decay:g})")
        return ", ".join(parts)

    def plots(self, run_dir: Path, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        """Per variant: sample grids over epochs, the game's curves, the class histogram beside
        the real test images', a latent interpolation."""
        from nnjournal.journal import gan_plots

        figures = []
        names = self.info.class_names or [str(i) for i in range(int(self.info.n_classes or 0))]
        pdir = run_dir / "plots"
        for variant, r in results.items():
            stem = variant.replace(" ", "_")
            snaps = getattr(r.task, "sample_snapshots", None)
            if snaps is not None and snaps.images:
                f = gan_plots.samples_over_epochs(snaps.images, pdir / f"{stem}_samples.png")
                figures.append(
                    {"file": f"plots/{f.name}", "caption": f"{variant}: samples from fixed noise at epochs "
                     + ", ".join(str(e) for e in sorted(snaps.images))}
                )
            if r.history.records:
                f = gan_plots.adversarial_curves(r.history.records, pdir / f"{stem}_game.png")
                figures.append(
                    {"file": f"plots/{f.name}", "caption": f"{variant}: losses, D(x) and D(G(z)) per epoch"}
                )
            if "test" in r.metrics:
                f = gan_plots.class_histogram(r.metrics["test"], self.real, names, pdir / f"{stem}_classes.png")
                figures.append(
                    {"file": f"plots/{f.name}", "caption": f"{variant}: classes of generated vs real images"}
                )
            f = gan_plots.latent_interpolation(r.model, pdir / f"{stem}_interpolation.png", seed=self.seed)
            figures.append({"file": f"plots/{f.name}", "caption": f"{variant}: walks between two noise vectors"})
        return figures

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        """Sentences from the numbers: distance and IS beside the real images', collapse, memorisation."""
        real = summary.get("baselines", {}).get(REAL)
        lines = []
        for name, v in summary["variants"].items():
            t = v["test"]
            beside = f" (real test images: {real['frechet_distance']:.1f})" if real else ""
            is_real = f" (real: {real['inception_score']:.2f})" if real else ""
            lines.append(
                f"{name}: Fréchet distance {t['frechet_distance']:.1f}{beside}, classifier Inception Score "
                f"{t['inception_score']:.2f}{is_real} of at most {self.info.n_classes}."
            )
            collapsed, why = collapse_verdict(t, real)
            if "conditional_accuracy" in t:
                # Asked for balanced classes, a skewed histogram means some labels are not obeyed.
                verdict = "does not draw every class it is asked for" if collapsed else "draws every class"
            else:
                verdict = "has collapsed (mode collapse)" if collapsed else "shows no mode collapse"
            lines.append(f"{name} {verdict}: {why}.")
            if "conditional_accuracy" in t:
                ceiling = (
                    f" (the classifier's accuracy on real test images: {real['conditional_accuracy']:.3f})"
                    if real
                    else ""
                )
                lines.append(
                    f"{name} draws the asked-for class {t['conditional_accuracy']:.1%} of the time{ceiling}."
                )
            if real:
                ratio = t["nearest_train_distance"] / real["nearest_train_distance"]
                verdict = (
                    "close to copies of training images (memorisation)"
                    if ratio < 0.5
                    else "no closer to the training images than real test images are"
                    if ratio >= 0.9
                    else "somewhat closer to the training images than real test images are"
                )
                lines.append(
                    f"{name}'s images are {verdict}: nearest-training-image distance "
                    f"{t['nearest_train_distance']:.2f} vs {real['nearest_train_distance']:.2f} for real test images."
                )
        return lines


def _fingerprint(model: torch.nn.Module) -> float:
    """A cheap digest of the weights: a memoised evaluation is redone once they change."""
    with torch.no_grad():
        return float(sum(p.double().sum() for p in model.parameters()))
