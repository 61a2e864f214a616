"""`python -m cli ...`: the `ecgflow` command without its console script."""

import sys

from cli.main import main

sys.exit(main())
