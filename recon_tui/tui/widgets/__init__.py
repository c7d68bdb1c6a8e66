"""Reusable Textual widgets shared by recon-tui screens."""
