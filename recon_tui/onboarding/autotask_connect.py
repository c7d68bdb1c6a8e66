"""Placeholder while this flow is being written (issue 11): says so and exits 2."""

from __future__ import annotations

import argparse

from recon_tui.cli_common import CliError

HELP = "(being built)"
DESCRIPTION = "Not available in this build yet."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flow's own options."""


def run(args: argparse.Namespace) -> int:
    raise CliError("this command is not available in this build yet")
