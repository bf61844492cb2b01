"""``python -m cosearch`` is the ``cosearch`` command."""

import sys

from cosearch.cli import main

sys.exit(main())
