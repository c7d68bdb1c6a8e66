"""``recon-tui connect qbo|connectwise|autotask`` and ``recon-tui doctor``: the
argument parsers and dispatch only; each flow lives in :mod:`recon_tui.onboarding`."""

from __future__ import annotations

import argparse

from recon_tui.cli_common import common_options

SYSTEMS = ("qbo", "connectwise", "autotask")


def connect_parser(sub: argparse._SubParsersAction) -> None:
    connect = sub.add_parser(
        "connect", help="connect a real account: qbo, connectwise or autotask",
        description="Connect recon-tui to a real account and save what it needs in the "
        "config (secrets in the OS keyring when one is available). Each flow ends with "
        "one authenticated call that proves it worked.")
    systems = connect.add_subparsers(dest="system", metavar="SYSTEM", required=True)
    from recon_tui.onboarding import autotask_connect, connectwise_connect, qbo_connect

    for name, module in (("qbo", qbo_connect), ("connectwise", connectwise_connect),
                         ("autotask", autotask_connect)):
        parser = systems.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        common_options(parser, suppress=True)
        module.add_arguments(parser)


def doctor_parser(sub: argparse._SubParsersAction) -> None:
    from recon_tui.onboarding import doctor

    parser = sub.add_parser("doctor", help=doctor.HELP, description=doctor.DESCRIPTION)
    common_options(parser, suppress=True)
    doctor.add_arguments(parser)


def cmd_connect(args: argparse.Namespace) -> int:
    from recon_tui.onboarding import autotask_connect, connectwise_connect, qbo_connect

    module = {"qbo": qbo_connect, "connectwise": connectwise_connect,
              "autotask": autotask_connect}[args.system]
    return module.run(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from recon_tui.onboarding import doctor

    return doctor.run(args)
