"""``python -m robviz train|evaluate|table ...``: see :mod:`robviz.cli`."""

import sys

from .cli import main

sys.exit(main())
