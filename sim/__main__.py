"""``python -m sim``: see :mod:`sim.cli`."""

import os
import sys

from sim.cli import main

code = main()
if code > 128:
    # Stopped by a signal: every cleanup already ran on the way out of main(). Leave now, skipping the
    # interpreter's exit hooks: joining a multiprocessing queue's feeder thread whose reader (a
    # terminated worker) is gone can block for ever.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
