"""``python -m interests_cli ...``: the same as ``interests ...``."""

import sys

from interests_cli import main

sys.exit(main())
