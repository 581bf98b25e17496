"""Tuning: the learning-rate range test as a journal entry (`lr_find.py`) and hyperparameter
search on Optuna (`search.py`, `objective.py`, `entry.py`; Optuna is the optional extra `tune`,
imported only there)."""
