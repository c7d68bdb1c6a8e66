"""The chaos suite: faults, kills and races against the emulator, judged by what
the sync promises (the cache as it was, or the data a clean sync gives; one-line
errors; no secret anywhere). ``test_chaos.py`` runs it at CI scale in the
normal suite; ``python -m tests.chaos --long`` is the long run (see __main__)."""
