"""Allow ``python -m ems``."""

from ems.cli.main import main

raise SystemExit(main())
