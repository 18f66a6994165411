"""``python -m largebdg``: the same as the ``largebdg`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
