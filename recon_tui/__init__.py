"""recon-tui: reconcile PSA invoices with the accounting ledger from the terminal."""

__version__ = "0.1.0"
