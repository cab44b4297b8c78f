"""Typed settings and the YAML loader with clear errors."""
