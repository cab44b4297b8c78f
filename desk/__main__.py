"""``python -m tocsin.desk``: the same as the ``tocsin`` command."""

from tocsin.desk.cli import main

raise SystemExit(main())
