"""Calibration data layer: merged-change histories of Gerrit-managed projects.

Modules: ``data`` (load and check a changes CSV, release cycles, area mapping), ``extract``
(build that CSV from a git clone), ``summaries`` (empirical summaries per cycle and area) and
``cli`` (``python -m sim data ...``). The format is described in ``data/nova/README.md`` and
the data README it cites. This module stays light (no pandas) so the CLI starts fast.
"""

from __future__ import annotations

from sim.errors import InputError


class DataError(InputError):
    """A data file, repository or option is invalid; the message is one line naming file and field."""
