"""tocsin, a crisis desk for the terminal. The code lives in the folders beside this one, each installed
as ``tocsin.<folder>`` (see docs/architecture.md); this package holds only ``python -m tocsin``."""
