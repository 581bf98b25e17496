"""Debugging a network (curriculum §5): overfit a tiny batch, check gradients numerically,
look at activation and gradient statistics per layer, and read the worst mistakes. One job per
module; `nnj debug RECIPE` (`debugging/entry.py`) puts them in one journal entry."""
