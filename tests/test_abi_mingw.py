"""Every constant and layout of winabi.h, checked against mingw-w64's Windows headers.

The C compiler for Windows (x86_64-w64-mingw32-gcc, Debian package mingw-w64) evaluates one
_Static_assert per value we define, so a wrong number fails the build of the probe.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from wsemu._native import lib
from tests.abi_layouts import LAYOUTS, windows_type_name

MINGW = shutil.which("x86_64-w64-mingw32-gcc")
pytestmark = pytest.mark.skipif(MINGW is None, reason="needs x86_64-w64-mingw32-gcc (apt package mingw-w64)")

# Names wsemu defines that the mingw headers do not (or not as compile-time constants).
NOT_IN_MINGW = {
    "WS_u_short", "WSA_INVALID_HANDLE", "WSA_NOT_ENOUGH_MEMORY", "WSA_INVALID_PARAMETER",
    "WSA_OPERATION_ABORTED", "WSA_IO_INCOMPLETE", "WSA_IO_PENDING", "WSA_WAIT_FAILED",
    "WSA_WAIT_EVENT_0", "WSA_WAIT_IO_COMPLETION", "WSA_WAIT_TIMEOUT", "WSA_INFINITE",
}

HEADERS = "#include <winsock2.h>\n#include <ws2tcpip.h>\n#include <mswsock.h>\n#include <ws2spi.h>\n#include <mstcpip.h>\n#include <stddef.h>\n"


def _constant_names() -> list[str]:
    text = open("native/include/wsemu/winabi.h").read()
    return sorted(set(re.findall(r"^#define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+\S", text, re.M)))


def _compile(source: str, tmp_path) -> str:
    path = tmp_path / "probe.c"
    path.write_text(source)
    done = subprocess.run([MINGW, "-fsyntax-only", "-std=gnu11", str(path)], capture_output=True, text=True)
    return done.stderr


def test_every_constant_matches_mingw(tmp_path):
    names = _constant_names()
    asserts = "".join(
        f"_Static_assert((long long)({n}) == (long long){int(getattr(lib, n))}LL || "
        f"(long long)(unsigned)({n}) == (long long){int(getattr(lib, n)) & 0xFFFFFFFF}LL, \"{n}\");\n"
        for n in names
    )
    errors = _compile(HEADERS + asserts, tmp_path)
    undeclared = set(re.findall(r"'([A-Z_0-9]+)' undeclared", errors))
    mismatched = re.findall(r'static assertion failed: "([A-Z_0-9]+)"', errors)
    assert not mismatched, f"values differ from mingw-w64: {mismatched}"
    unknown = undeclared - NOT_IN_MINGW
    # Names mingw lacks are reported, not silently accepted.
    assert not unknown, f"not defined by mingw-w64 (add to NOT_IN_MINGW only if intended): {sorted(unknown)}"


def test_every_layout_matches_mingw(tmp_path):
    lines = []
    for ctype, (size, offsets) in LAYOUTS.items():
        wname = windows_type_name(ctype)
        lines.append(f'_Static_assert(sizeof({wname}) == {size}, "sizeof {wname}");\n')
        for field, offset in offsets.items():
            lines.append(f'_Static_assert(offsetof({wname}, {field}) == {offset}, "offsetof {wname}.{field}");\n')
    errors = _compile(HEADERS + "".join(lines), tmp_path)
    assert "error" not in errors, errors
