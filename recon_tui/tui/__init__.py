"""Textual user interface for recon-tui."""
