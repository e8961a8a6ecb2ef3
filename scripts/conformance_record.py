"""Record tests/conformance/expected/*.txt: build each Windows program in tests/conformance
with mingw-w64 and run it under Wine 8 (reference/wine-peer.md has the setup). Lines where
Windows' documented behaviour differs from Wine's are then edited by hand and listed in
tests/conformance/DEVIATIONS.md; this script warns when a recording changes such a line."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "conformance"
WINE = os.environ.get("WINE", "/usr/lib/wine/wine64")      # (bookworm puts no wine64 on PATH)
MINGW = "x86_64-w64-mingw32-gcc"


def _ensure_tools() -> None:
    if shutil.which(MINGW) and os.path.exists(WINE):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"conformance-record needs {MINGW} and {WINE}: apt-get install -y wine64 mingw-w64")
    print("installing wine64 and mingw-w64 (about a minute)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wine64", "mingw-w64"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main() -> int:
    _ensure_tools()
    (HERE / "expected").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WINEPREFIX": os.path.join(tmp, "prefix"), "WINEDEBUG": "-all",
               "WINEDLLOVERRIDES": "mscoree,mshtml="}
        programs = sorted(HERE.glob("*.c"))
        for i, program in enumerate(programs, 1):
            print(f"[{i}/{len(programs)}] {program.name}", flush=True)
            exe = os.path.join(tmp, program.stem + ".exe")
            subprocess.run([MINGW, "-Wall", str(program), "-o", exe, "-lws2_32"], check=True)
            run = subprocess.run([WINE, exe], env=env, capture_output=True, timeout=300)
            out = run.stdout.decode().replace("\r\n", "\n")
            target = HERE / "expected" / f"{program.stem}.txt"
            if target.exists() and target.read_text() != out:
                print(f"  {target.name} changed: check DEVIATIONS.md before committing", flush=True)
            target.write_text(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
