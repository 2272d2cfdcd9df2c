"""`python -m mmdash ...`: the same as the installed `mmdash` command."""

from mmdash.cli import main

raise SystemExit(main())
