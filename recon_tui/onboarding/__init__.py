"""Getting from zero to a real book: ``recon-tui connect`` (QuickBooks Online's
OAuth flow, ConnectWise's site lookup, Autotask's zone lookup) and ``recon-tui
doctor``. One module per system and one for the checks; no Textual here, so the
TUI's onboarding screen runs the same functions in a worker."""
