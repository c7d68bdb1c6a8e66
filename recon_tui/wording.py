"""Counted nouns for people: "1 client", "2 clients", "1,204 invoices" (a screen
reading "1 clients" or "1 unmapped ledger customers" is a small thing a tech
notices)."""

from __future__ import annotations

__all__ = ["counted", "noun"]


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The noun alone, singular for exactly one: ``noun(1, "client") == "client"``."""
    if count == 1:
        return singular
    return plural if plural is not None else singular + "s"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """The count with its noun: ``counted(1, "client") == "1 client"``, thousands
    separated: ``counted(1204, "invoice") == "1,204 invoices"``."""
    return f"{count:,} {noun(count, singular, plural)}"
