"""Screens pushed over the wall."""
