"""The C face (DESIGN.md §3.3): Windows socket programs in tests/conformance, built unchanged
against libwsemu with `wsemu config`, print what they printed under Wine (recorded by `make
conformance-record` into tests/conformance/expected; Windows' value where DEVIATIONS.md says
Wine is wrong). And libwsemu shadows nothing of libc.

(A first-line "/* link: -l... */" comment is for the mingw build only: on Linux libwsemu is the
whole Windows API, so only the `wsemu config` flags are used.)"""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from tests.helpers import c_face_flags as _flags

HERE = pathlib.Path(__file__).parent / "conformance"
PROGRAMS = sorted(HERE.glob("*.c"))

def build(cc: str, source: pathlib.Path, exe: pathlib.Path) -> None:
    """cc $(wsemu config --cflags) source $(wsemu config --libs), unchanged Windows source."""
    run = subprocess.run([cc, "-Wall", "-Werror", *_flags("--cflags"), str(source), *_flags("--libs"),
                          "-o", str(exe)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.fail(f"{source.name} does not build:\n{run.stderr}")


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_prints_what_windows_printed(program, cc, tmp_path):
    exe = tmp_path / program.stem
    build(cc, program, exe)
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
