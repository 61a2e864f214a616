"""A user's mistake, told apart from a fault of the program by its type.

`InputError` is what a person gave that cannot be used: a missing or wrong folder, file, model, dataset,
instruction set, run, evaluation, champion or store; an unreadable settings file; credentials refused. Its
message says what is wrong, where, and what to do, in one line. The `ecgflow` command prints that line and exits
with status 2, before any work where the mistake can be seen from the arguments (cli/input_checks.py); a
deployed run fails with it as its state message. Any other exception is a fault of the program and keeps its
traceback.

The two subclasses keep the built-in types callers already catch: a missing thing is a FileNotFoundError, a wrong
one a ValueError.
"""

from __future__ import annotations


class InputError(Exception):
    """What a person gave cannot be used; the message is the one line they read."""


class MissingInput(InputError, FileNotFoundError):
    """A folder, file, model, dataset, instruction set, run, evaluation or champion that is not there."""


class WrongInput(InputError, ValueError):
    """Something there, but not what it was given as (a folder without a model, a store refusing the credentials)."""
