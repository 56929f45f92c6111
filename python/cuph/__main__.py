"""``python -m cuph``: the ``cuph`` command line (see :mod:`cuph.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
