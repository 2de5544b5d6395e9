"""``python -m mgclr.cli ...`` (and ``torchrun ... -m mgclr.cli pretrain CONFIG``): the ``mgclr`` command."""

import sys

from . import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
