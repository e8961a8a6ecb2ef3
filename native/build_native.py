"""cffi builder for wsemu._native: the Windows ABI (layouts and constants) in API mode.

The declarations come from native/include/wsemu/winabi.h, the one place that spells out the
Windows ABI: the part between the CDEF markers is handed to cffi verbatim (so the C compiler
checks every field against the real header), and every "#define NAME value" in the header
becomes an integer constant on ``lib`` whose value the compiler computes.

Paths are relative to the project root, where setup.py runs this file.
"""
from __future__ import annotations

import pathlib
import re

from cffi import FFI

HEADER = pathlib.Path("native/include/wsemu/winabi.h")
HELPERS = pathlib.Path("native/src/wsemu_native.h")
_CDEF_BEGIN, _CDEF_END = "/* CDEF-BEGIN */", "/* CDEF-END */"
_DEFINE = re.compile(r"^#define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+\S", re.MULTILINE)


def _declarations(text: str) -> str:
    return text.split(_CDEF_BEGIN, 1)[1].split(_CDEF_END, 1)[0]


def winabi_cdef(text: str) -> str:
    """The cdef for winabi.h: its declarations plus one ``#define NAME ...`` per constant."""
    declarations = _declarations(text)
    names = sorted(set(_DEFINE.findall(text)))
    return declarations + "".join(f"#define {name} ...\n" for name in names)


ffibuilder = FFI()
ffibuilder.cdef(winabi_cdef(HEADER.read_text()) + _declarations(HELPERS.read_text()))
ffibuilder.set_source(
    "wsemu._native",
    '#include "wsemu/winabi.h"\n#include "wsemu_native.h"\n',
    sources=["native/src/wsemu_native.c", "native/src/wsemu_events.c", "native/src/wsemu_fast.c"],
    include_dirs=["native/include", "native/src"],
    extra_compile_args=["-O2", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
