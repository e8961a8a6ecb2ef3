"""cffi embedding builder for libwsemu.so, the C face (DESIGN.md §3.3).

The library holds the C part (native/src/cface*.c: the per-thread last error, the calls done
in C) and an embedded Python interpreter that runs the package wsemu.cface for the rest.
``build(out_dir)`` is called by setup.py's build step; the result is ``<out_dir>/libwsemu.so``.

Each face header may hold two marked blocks, gathered in HEADERS order:
  /* CDEF-BEGIN */ ... /* CDEF-END */      types (and C functions) the Python side uses;
  /* EMBEDDED-BEGIN ... */ ... /* EMBEDDED-END */   the calls implemented in Python.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import sysconfig
import tempfile

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE, SRC = ROOT / "native" / "include", ROOT / "native" / "src"


# The face headers, in include order (a block may use the types of the ones before it).
HEADERS = ("wsemu/winabi.h", "windows.h", "winsock2.h", "ws2tcpip.h", "mswsock.h", "ws2spi.h",
           "wsemu/dataplane.h")


def _blocks(begin: str, end: str) -> str:
    """Every ``begin ... end`` block of the face headers, in order (the rest of a begin
    marker's comment is not part of its block)."""
    found = []
    for name in HEADERS:
        path = INCLUDE / name
        if not path.exists():
            continue
        for chunk in path.read_text().split(begin)[1:]:
            block = chunk.split(end, 1)[0]
            found.append(block.split("*/", 1)[1] if not begin.endswith("*/") else block)
    return "\n".join(found)


def _sources() -> str:
    return "".join(f'#include "{path.name}"\n' for path in sorted(SRC.glob("cface*.c")))


def builder() -> FFI:
    ffi = FFI()
    ffi.cdef(_blocks("/* CDEF-BEGIN */", "/* CDEF-END */"))
    ffi.cdef("void wsemu_set_last_error(int32_t code);\nconst char *wsemu_library_path(void);")
    ffi.embedding_api(_blocks("/* EMBEDDED-BEGIN", "/* EMBEDDED-END */"))
    ffi.set_source(
        "_wsemu_cface",
        '#include "wsemu/winabi.h"\n' + _sources(),
        include_dirs=[str(INCLUDE), str(SRC)],
        extra_compile_args=["-O2", "-Wall"],
        # libpython is found where this interpreter's is, without LD_LIBRARY_PATH.
        extra_link_args=["-Wl,-rpath," + sysconfig.get_config_var("LIBDIR")],
    )
    ffi.embedding_init_code("""
from _wsemu_cface import ffi, lib
from wsemu import cface
cface.bind(ffi, lib)
""")
    return ffi


def build(out_dir: str | os.PathLike) -> pathlib.Path:
    out = pathlib.Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)                # (cffi's compile runs setuptools: keep it off pyproject.toml)
        try:
            built = builder().compile(tmpdir=tmp, target="libwsemu.*")
        finally:
            os.chdir(cwd)
        target = out / "libwsemu.so"
        shutil.copyfile(built, target)
    return target


if __name__ == "__main__":
    print(build(ROOT / "wsemu" / "lib"))
