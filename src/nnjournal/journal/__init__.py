"""The journal: run directories, plots, reports and the list of past runs."""

from nnjournal.journal.report import render_report
from nnjournal.journal.run_dir import create_run_dir, list_runs, read_summary

__all__ = ["create_run_dir", "list_runs", "read_summary", "render_report"]
