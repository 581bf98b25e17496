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

REAL = "real test images"  # the baseline's name: the ceiling every generator is compared with


class GANTask:
    name = "gan"
    headline = "frechet_distance"
    trainer = "adversarial"
    out_features = 1
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
    ) -> None:
        if not info.is_image or not info.n_classes:
            raise NNJError(
                f"task.name='gan' needs labelled images (its evaluation classifier), but {info.name!r} is not"
            )
        self.info, self.samples, self.seed = info, samples, seed
        # The classifier's own seed stays fixed: runs with different seeds get the same judge.
        self.settings = settings or ClassifierSettings()
        self.evaluator: GenerativeEvaluator | None = None

    # -------------------------------------------------------------- the step
    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        raise TypeError("a GAN trains with two optimizers: use training.adversarial.fit_adversarial")

    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        raise TypeError("a GAN is evaluated on generated samples: use GANTask.evaluate")

    # -------------------------------------------------------------- after training
    def prepare_data(self, bundle: DataBundle, cfg: Any = None) -> DataBundle:
        """Builds (or reads from the cache) the evaluation classifier on the training split."""
        self.evaluator = GenerativeEvaluator(
            bundle.train, int(self.info.n_classes), settings=self.settings, name=self.info.name
        )
        return bundle

    def _evaluator(self) -> GenerativeEvaluator:
        if self.evaluator is None:
            raise RuntimeError("GANTask.prepare_data(bundle) must run before evaluation")
        return self.evaluator

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        """The generator's numbers on as many samples as `split` has (or `samples`), seeded; a
        conditional GAN is asked for `split`'s labels, so its class mix matches the real one."""
        n = self.samples or len(split)
        labels = split.y[:n] if getattr(model, "conditional", False) and n <= len(split) else None
        return self._evaluator().generated_metrics(model, n, seed=self.seed, labels=labels)

    def baselines(self, bundle: DataBundle, cfg: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """No fitted baseline: the real test images' numbers are the ceiling."""
        return {}, {REAL: self._evaluator().real_metrics(bundle.test)}

    def summary_extras(self, result: Any) -> dict[str, Any]:
        return {}

    def describe_model(self, cfg: Any) -> str | None:
        return None

    def plots(self, run_dir: Path, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        """Figures per variant from `context`: "snapshots" ({variant: SampleSnapshots images}),
        "records" ({variant: history records}), "models", "test" and "real" metrics."""
        from nnjournal.journal import gan_plots

        figures = []
        names = self.info.class_names or [str(i) for i in range(int(self.info.n_classes or 0))]
        for variant, model in context.get("models", {}).items():
            stem = variant.replace(" ", "_")
            if context.get("snapshots", {}).get(variant):
                f = gan_plots.samples_over_epochs(
                    context["snapshots"][variant], run_dir / f"{stem}_samples.png"
                )
                figures.append(
                    {"file": f.name, "caption": f"{variant}: samples from fixed noise at several epochs"}
                )
            if context.get("records", {}).get(variant):
                f = gan_plots.adversarial_curves(context["records"][variant], run_dir / f"{stem}_game.png")
                figures.append({"file": f.name, "caption": f"{variant}: losses, D(x) and D(G(z)) per epoch"})
            if variant in context.get("test", {}):
                f = gan_plots.class_histogram(
                    context["test"][variant], context.get("real"), names, run_dir / f"{stem}_classes.png"
                )
                figures.append({"file": f.name, "caption": f"{variant}: classes of generated vs real images"})
            f = gan_plots.latent_interpolation(model, run_dir / f"{stem}_interpolation.png", seed=self.seed)
            figures.append({"file": f.name, "caption": f"{variant}: walks between two noise vectors"})
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
