"""The errors a command reports as one line and an exit code (kerascmp.cli.run_main), raised at every layer.

Importing this module is free: it needs nothing but Python.
"""

from __future__ import annotations


class UsageError(Exception):
    """A bad input from the user: reported as one line, exit code 2."""


class StorageError(Exception):
    """A result that could not be written (disk full, read-only): one line saying what was kept, exit 4."""


class DataError(Exception):
    """The MNIST data cannot be found or read; the message says how to fix it."""


class VariantError(ValueError):
    """A variant whose build() fails or returns a model other than it declares: one line, exit 2."""


def printable(text) -> str:
    """`text` safe for a terminal: control characters (escape codes from a tampered file or a strange
    path) shown as escapes, not obeyed."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(text))
