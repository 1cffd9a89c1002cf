"""``python -m migrate_kit`` is the ``migrate-kit`` command."""

import sys

from migrate_kit.cli import main

sys.exit(main())
