"""The C face (DESIGN.md §3.3): Windows socket programs in tests/conformance, built unchanged
against libwsemu with `wsemu config`, print what they printed under Wine (recorded by `make
conformance-record` into tests/conformance/expected; Windows' value where DEVIATIONS.md says
Wine is wrong). And libwsemu shadows nothing of libc."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent / "conformance"
PROGRAMS = sorted(HERE.glob("*.c"))
WSEMU = [sys.executable, "-m", "wsemu.cli"]


def _flags(which: str) -> list[str]:
    out = subprocess.run(WSEMU + ["config", which], check=True, capture_output=True, text=True).stdout
    return out.split()


@pytest.fixture(scope="module")
def cc():
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    return compiler


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_prints_what_windows_printed(program, cc, tmp_path):
    exe = tmp_path / program.stem
    subprocess.run([cc, "-Wall", "-Werror", *_flags("--cflags"), str(program), *_flags("--libs"), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    expected = (HERE / "expected" / f"{program.stem}.txt").read_text()
    assert run.stdout == expected


def test_libwsemu_exports_no_libc_socket_name():
    from wsemu.cli import LIB_DIR
    symbols = subprocess.run(["nm", "-D", "--defined-only", f"{LIB_DIR}/libwsemu.so"], check=True,
                             capture_output=True, text=True).stdout.split()
    for name in ("socket", "send", "recv", "select", "connect", "accept", "bind", "close"):
        assert name not in symbols
    assert "wsemu_socket" in symbols and "wsemu_WSAGetLastError" in symbols
