"""Files ``ems run`` puts on the program's PYTHONPATH (copied to a private folder first)."""
