"""``python -m runway_dynamic`` runs the CLI."""

from runway_dynamic.cli import main

raise SystemExit(main())
