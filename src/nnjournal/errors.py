"""The one exception type a user sees: what went wrong, where, and how to fix it.

The CLI turns it into a single line on stderr and exit code 2.
"""

from __future__ import annotations


class NNJError(Exception):
    """A problem with the user's input (recipe, option, data file), not a bug in nnjournal."""

    exit_code = 2
