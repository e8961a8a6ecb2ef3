"""The SPI from C (DESIGN.md §3.3, reference/spi.md §1): C programs built against libwsemu
drive the base provider through WSPStartup's proc table over real loopback sockets, and use
the WSC catalog calls (on an isolated catalog directory) and the WPU upcalls. Each program
CHECKs its own results and exits with its failure count (tests/cface/check.h)."""
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from tests.helpers import c_face_flags as _flags

HERE = pathlib.Path(__file__).parent / "cface"




@pytest.fixture(scope="module")
def build(tmp_path_factory, cc):
    compiler = cc
    out = tmp_path_factory.mktemp("cface-spi")

    def compile_program(name: str) -> pathlib.Path:
        exe = out / name
        built = subprocess.run([compiler, "-Wall", "-Werror", *_flags("--cflags"), str(HERE / f"{name}.c"),
                                *_flags("--libs"), "-o", str(exe)], capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
        return exe
    return compile_program


def _run(exe: pathlib.Path, config_dir: pathlib.Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, WSEMU_CONFIG_DIR=str(config_dir))
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)


def test_a_c_program_drives_the_base_provider_through_the_proc_table(build, tmp_path):
    run = _run(build("spi_provider"), tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.endswith(": 0 failures\n")


def test_wsc_catalog_calls_and_wpu_upcalls(build, tmp_path):
    run = _run(build("wsc_wpu"), tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.endswith(": 0 failures\n")


def test_the_catalog_a_c_installer_writes_is_the_one_python_reads(build, tmp_path):
    """wsc_wpu leaves the catalog as it found it; what it wrote in between is valid: the
    file it saved loads, with the default entries in their order."""
    assert _run(build("wsc_wpu"), tmp_path).returncode == 0
    from wsemu import catalog
    loaded = catalog.CatalogStore(tmp_path).load()
    assert [entry.id for entry in loaded.entries] == list(range(1001, 1007))
    assert loaded.next_id == 1009          # catalog IDs are never reused


def test_libwsemu_exports_the_spi_under_wsemu_names_only():
    from wsemu.cli import LIB_DIR
    symbols = set(subprocess.run(["nm", "-D", "--defined-only", f"{LIB_DIR}/libwsemu.so"], check=True,
                                 capture_output=True, text=True).stdout.split())
    for name in ("WSPStartup", "WPUCreateSocketHandle", "WPUCompleteOverlappedRequest", "WSCEnumProtocols",
                 "WSCInstallProvider", "WSCDeinstallProvider", "WSCWriteProviderOrder", "WSCGetProviderPath"):
        assert "wsemu_" + name in symbols
        assert name not in symbols
    assert "wsemu_upcall_table" in symbols
