"""The C face (DESIGN.md §3.3): Windows socket programs in tests/conformance, built unchanged
against libwsemu with `wsemu config`, print what they printed under Wine (recorded by `make
conformance-record` into tests/conformance/expected; Windows' value where DEVIATIONS.md says
Wine is wrong). And libwsemu shadows nothing of libc.

A program that needs part of the Windows API libwsemu does not offer yet (a function, type or
constant its headers lack, or a symbol the library does not export) is skipped, naming what is
missing; any other build error fails."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent / "conformance"
PROGRAMS = sorted(HERE.glob("*.c"))
WSEMU = [sys.executable, "-m", "wsemu.cli"]

# Compiler/linker diagnostics that mean "the face lacks this name", with the name captured.
# (A first-line "/* link: -l... */" comment is for the mingw build only: on Linux libwsemu
# is the whole Windows API, so only the `wsemu config` flags are used.)
MISSING_API = [
    re.compile(r"implicit declaration of function [‘'`]([A-Za-z_]\w*)"),
    re.compile(r"[‘'`]([A-Za-z_]\w*)[’'] undeclared"),
    re.compile(r"unknown type name [‘'`]([A-Za-z_]\w*)"),
    re.compile(r"undefined type [‘'`]((?:struct )?[A-Za-z_]\w*)"),
    re.compile(r"undefined reference to [‘'`]([A-Za-z_]\w*)"),
    # a Winsock name the headers do not map leaves the program calling libc's POSIX one
    re.compile(r"passing argument \d+ of [‘'`](\w+)[’'] from incompatible pointer type"),
]


def _flags(which: str) -> list[str]:
    out = subprocess.run(WSEMU + ["config", which], check=True, capture_output=True, text=True).stdout
    return out.split()


def missing_api(diagnostics: str) -> list[str]:
    """The Windows names a failed build says the face lacks (empty: a real build error)."""
    names: list[str] = []
    for pattern in MISSING_API:
        for name in pattern.findall(diagnostics):
            if name not in names:
                names.append(name)
    return names


def build(cc: str, source: pathlib.Path, exe: pathlib.Path) -> None:
    """cc $(wsemu config --cflags) source $(wsemu config --libs); skips when the face lacks
    part of the API the program uses."""
    run = subprocess.run([cc, "-Wall", "-Werror", *_flags("--cflags"), str(source), *_flags("--libs"),
                          "-o", str(exe)], capture_output=True, text=True)
    if run.returncode == 0:
        return
    missing = missing_api(run.stderr)
    if missing:
        pytest.skip(f"libwsemu lacks (or its headers do not map) {', '.join(missing)}")
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
