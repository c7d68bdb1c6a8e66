"""A reader that goes away (``recon-tui find 10040 | head``, a pager quit) ends the
command quietly, as for any Unix tool: SIGPIPE's status and nothing on stderr,
not "a file: Broken pipe" nor Python's own report of it at exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def test_a_closed_stdout_ends_the_command_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_STATE_HOME": str(tmp_path / "s")}
    try:
        done = subprocess.run([sys.executable, "-m", "recon_tui", "--demo", "history"],
                              stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=60,
                              check=False)
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 128 + int(signal.SIGPIPE)
