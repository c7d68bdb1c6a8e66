"""Connectors: one module per system behind the protocols in ``base``."""
