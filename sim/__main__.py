"""``python -m sim``: the ``bordersim`` command, for environments without the console script on PATH."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
