"""Training: the trainers (`fit` for supervised tasks), optimizers and schedules, early
stopping, checkpoints, hooks, seeding and devices. Import from the modules themselves
(`nnjournal.training.fit`, ...): this package file imports nothing, so a task may use
`training.predict` without pulling in the trainers that use tasks."""
