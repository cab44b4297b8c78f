"""``python -m tocsin``: the same as the ``tocsin`` command (``tocsin.desk.cli``). The code lives in the
folders beside this one (``config/`` is ``tocsin.config``…); this folder holds only this entry point."""

from tocsin.desk.cli import main

raise SystemExit(main())
