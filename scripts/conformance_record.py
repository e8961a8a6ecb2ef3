"""Record tests/conformance/expected/*.txt: build each Windows program in tests/conformance
with mingw-w64 and run it under Wine 8 (reference/wine-peer.md has the setup). Lines where
Windows' documented behaviour differs from Wine's are listed in tests/conformance/DEVIATIONS.md
(file, the line Wine prints, Windows' line, why); the recorder puts Windows' line in place of
Wine's and warns when Wine no longer prints the listed line."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "conformance"
WINE = os.environ.get("WINE", "/usr/lib/wine/wine64")      # (bookworm puts no wine64 on PATH)
MINGW = "x86_64-w64-mingw32-gcc"
# A program's first line may name the Windows import libraries it needs beyond ws2_32
# ("/* link: -luser32 */"); only the mingw build reads it (on Linux libwsemu is everything).
LINK_COMMENT = re.compile(r"/\*\s*link:\s*(.*?)\s*\*/")


def link_libraries(program: pathlib.Path) -> list[str]:
    """The extra link libraries a conformance program names on its first line."""
    with program.open() as source:
        match = LINK_COMMENT.fullmatch(source.readline().strip())
    return match.group(1).split() if match else []


# A DEVIATIONS.md table row: | `file.txt` | `Wine's line` | `Windows' line` | why |
DEVIATION_ROW = re.compile(r"^\|\s*`([^`]+\.txt)`\s*\|\s*`([^`]*)`\s*\|\s*`([^`]*)`\s*\|")


def deviations() -> dict[str, list[tuple[str, str]]]:
    """Per expected file, the (Wine's line, Windows' line) pairs DEVIATIONS.md lists."""
    table: dict[str, list[tuple[str, str]]] = {}
    for row in (HERE / "DEVIATIONS.md").read_text().splitlines():
        match = DEVIATION_ROW.match(row)
        if match:
            table.setdefault(match.group(1), []).append((match.group(2), match.group(3)))
    return table


def windows_values(name: str, recorded: str, table: dict[str, list[tuple[str, str]]]) -> str:
    """Wine's recording of one program with the listed lines replaced by Windows' values."""
    lines = recorded.split("\n")
    for wine_line, windows_line in table.get(name, []):
        if windows_line in lines:           # Wine agreed with Windows this time
            continue
        if wine_line not in lines:
            print(f"  {name}: Wine no longer prints `{wine_line}`: check DEVIATIONS.md", flush=True)
            continue
        lines[lines.index(wine_line)] = windows_line
    return "\n".join(lines)


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
        table = deviations()
        programs = sorted(HERE.glob("*.c"))
        for i, program in enumerate(programs, 1):
            print(f"[{i}/{len(programs)}] {program.name}", flush=True)
            exe = os.path.join(tmp, program.stem + ".exe")
            subprocess.run([MINGW, "-Wall", str(program), "-o", exe, "-lws2_32",
                            *link_libraries(program)], check=True)
            run = subprocess.run([WINE, exe], env=env, capture_output=True, timeout=300)
            if run.returncode != 0:
                print(f"  {program.name} exited with {run.returncode} under Wine", flush=True)
            target = HERE / "expected" / f"{program.stem}.txt"
            out = windows_values(target.name, run.stdout.decode().replace("\r\n", "\n"), table)
            if target.exists() and target.read_text() != out:
                print(f"  {target.name} changed", flush=True)
            target.write_text(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
