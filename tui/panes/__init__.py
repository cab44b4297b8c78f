"""The wall's panes, one module each; each is updated from a Snapshot at most once per flush."""
