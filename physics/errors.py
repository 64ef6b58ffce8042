"""Errors raised on bad input. The CLI turns them into one line and a non-zero exit."""

from __future__ import annotations


class HepgenInputError(ValueError):
    """Bad user input: a file, tree, branch, option or value that is not what hepgen expects.

    The message names the offending file/tree/branch/option and what was expected, in one line.
    """


class HepgenNoEventsError(HepgenInputError):
    """No event is left after reading and selection."""
