"""cffi embedding builder for libwsemu.so, the C face (DESIGN.md §3.3).

The library holds the C part (native/src/cface.c: the per-thread last error, the calls done in
C) and an embedded Python interpreter that runs wsemu.cface for the rest. ``build(out_dir)`` is
called by setup.py's build step; the result is ``<out_dir>/libwsemu.so``.
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


def _embedding_api() -> str:
    """The calls wsemu/cface.py implements, as <winsock2.h> declares them."""
    text = (INCLUDE / "winsock2.h").read_text()
    block = text.split("/* EMBEDDED-BEGIN", 1)[1].split("/* EMBEDDED-END */", 1)[0]
    return block.split("*/", 1)[1]


def _winabi_declarations() -> str:
    text = (INCLUDE / "wsemu" / "winabi.h").read_text()
    return text.split("/* CDEF-BEGIN */", 1)[1].split("/* CDEF-END */", 1)[0]


def builder() -> FFI:
    ffi = FFI()
    ffi.cdef(_winabi_declarations())
    ffi.cdef("void wsemu_set_last_error(int32_t code);\nconst char *wsemu_library_path(void);")
    ffi.embedding_api(_embedding_api())
    ffi.set_source(
        "_wsemu_cface",
        '#include "wsemu/winabi.h"\n#include "cface.c"\n',
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
