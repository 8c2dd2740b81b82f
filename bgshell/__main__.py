"""``python -m bgshell``: the same as the ``bgshell`` command."""

from bgshell.cli import main

raise SystemExit(main())
