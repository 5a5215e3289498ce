"""`python -m flashpoint …`: the same command line as the `flashpoint` script."""

import sys

from flashpoint.cli import main

sys.exit(main())
