"""The `wsemu` command, run as users run it: a separate process, its output and exit code."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

WSEMU = [sys.executable, "-m", "wsemu.cli"]


def run(*args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(WSEMU + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_demo_shows_the_documented_hand_off_in_ten_steps():
    done = run("demo")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = re.findall(r"\] \((\d+)\) ", done.stdout)
    assert sorted(set(steps), key=int) == [str(n) for n in range(1, 11)]
    roles = set(re.findall(r"^\[(\w+) +pid +(\d+)\]", done.stdout, re.M))
    assert {role for role, _ in roles} == {"source", "peer", "target"}
    assert len({pid for _, pid in roles}) == 3                    # three real processes
    assert "WSAEINVAL" in done.stdout                             # the info is single-use
    assert "straight into the target's inbox" in done.stdout     # the fast path
    assert "Traceback" not in done.stderr


def test_catalog_list_prints_netsh_style_entries(tmp_path):
    done = run("catalog", "list", env={"WSEMU_CONFIG_DIR": str(tmp_path)})
    assert done.returncode == 0
    assert done.stdout.count("Winsock Catalog Provider Entry") == 6
    assert "Description:                        MSAFD Tcpip [TCP/IP]" in done.stdout
    assert "Catalog Entry ID:                   1001" in done.stdout


def test_catalog_reset_repairs_a_corrupt_catalog_and_the_error_names_the_file(tmp_path):
    (tmp_path / "catalog.json").write_text("{ not json")
    broken = run("catalog", "list", env={"WSEMU_CONFIG_DIR": str(tmp_path)})
    assert broken.returncode == 1
    assert str(tmp_path / "catalog.json") in broken.stderr
    assert "wsemu catalog reset" in broken.stderr
    assert "Traceback" not in broken.stderr
    reset = run("catalog", "reset", env={"WSEMU_CONFIG_DIR": str(tmp_path)})
    assert reset.returncode == 0
    assert json.loads((tmp_path / "catalog.json").read_text())["next_id"] == 1007
    assert run("catalog", "list", env={"WSEMU_CONFIG_DIR": str(tmp_path)}).returncode == 0


def test_broker_status_reports_the_running_broker():
    done = run("broker", "status")
    assert done.returncode == 0, done.stderr
    assert re.search(r"wsemu broker pid \d+", done.stdout)
    assert "outstanding deposits:" in done.stdout and "shared sockets:" in done.stdout


@pytest.mark.parametrize("args", [("catalog", "list"), ("demo",)])
def test_a_closed_stdout_is_not_a_traceback(args):
    proc = subprocess.Popen(WSEMU + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()                   # like `wsemu ... | head -c 10`
    _, err = proc.communicate(timeout=90)
    assert b"Traceback" not in err
    proc.stderr.close()


def test_unknown_command_is_a_usage_error():
    done = run("frobnicate")
    assert done.returncode == 2 and "usage:" in done.stderr
