"""Operator workflows: state machines over the cache, no UI code."""
