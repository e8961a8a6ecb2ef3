"""The C face's headers against Windows: tests/cface/layouts.c holds every size and offset of
reference/spi.md §2 as _Static_asserts, written with Windows names only. It must compile
against wsemu's headers (`wsemu config --cflags`) and, where mingw-w64 is installed, against
the Windows SDK headers too: both sides then agree on every number."""
from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from tests.helpers import c_face_flags as _flags

HERE = pathlib.Path(__file__).parent / "cface"
LAYOUTS = HERE / "layouts.c"






def _compile(compiler: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([compiler, "-Wall", "-Werror", *args], capture_output=True, text=True)


def test_wsemu_headers_have_the_windows_layouts(cc, tmp_path):
    exe = tmp_path / "layouts"
    built = _compile(cc, *_flags("--cflags"), str(LAYOUTS), "-o", str(exe))
    assert built.returncode == 0, built.stderr
    assert subprocess.run([str(exe)], timeout=60).returncode == 0     # the WSAID_* initialisers


def test_the_numbers_are_windows_own():
    mingw = shutil.which("x86_64-w64-mingw32-gcc")
    if mingw is None:
        pytest.skip("no mingw-w64")
    built = _compile(mingw, "-fsyntax-only", str(LAYOUTS))
    assert built.returncode == 0, built.stderr


def test_a_wrong_layout_fails_to_compile(cc):
    built = _compile(cc, *_flags("--cflags"), "-DWSEMU_LAYOUT_SELF_TEST", "-fsyntax-only", str(LAYOUTS))
    assert built.returncode != 0
    assert "sizeof(WSAPROTOCOL_INFOW) != 627" in built.stderr


@pytest.mark.parametrize("header", ["ws2spi.h", "mswsock.h"])
def test_header_stands_alone(cc, header, tmp_path):
    """Included first and alone (each pulls in <winsock2.h> itself, as Windows' do)."""
    source = tmp_path / "alone.c"
    source.write_text(f"#include <{header}>\nint main(void) {{ return 0; }}\n")
    built = _compile(cc, *_flags("--cflags"), "-fsyntax-only", str(source))
    assert built.returncode == 0, built.stderr
