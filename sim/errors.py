"""The one error type the command line turns into exit code 2 and one line on stderr.

Every module that refuses user input (a scenario, a data file, an output path, a run that cannot
finish) raises a subclass of :class:`InputError` whose message is one line naming the file, the
field and the allowed values. Anything else that escapes is a bug of ours.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message is one line naming the file, the field and what is allowed."""


class OutputError(InputError):
    """An output path cannot be written, or writing it would destroy files the program did not write."""


class SimulationDiverged(InputError):
    """A replication grew without bound (open changes or engine events past the scenario's budget)."""
