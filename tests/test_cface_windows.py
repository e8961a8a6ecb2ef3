"""<windows.h> of the C face: the Win32 subset socket programs use and message-only windows
(native/src/cface_windows.c, wsemu/cface/windows.py, wsemu/msgqueue.py).

The C programs in tests/cface are written for Windows: each is built unchanged against
libwsemu (`wsemu config` flags) and run as its own process, and its output is the one in
tests/cface/expected (Windows' values). The same sources built with mingw and run under Wine
print the same, but for the lines where Wine is wrong (WINE_DIFFERS). The message queue
under them is also tested from Python."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import threading

import pytest

from tests.helpers import c_face_flags as _flags

from wsemu import abi as W
from wsemu import msgqueue
from wsemu.errors import WSAError

HERE = pathlib.Path(__file__).parent / "cface"
WINE = "/usr/lib/wine/wine64"
MINGW = "x86_64-w64-mingw32-gcc"

# Where Wine 8 prints something else than Windows does (label -> Wine's line). Windows:
# CreateWindowExW of an unregistered class is ERROR_CANNOT_FIND_WND_CLASS (Wine:
# ERROR_CLASS_DOES_NOT_EXIST); DestroyWindow of a bad window is ERROR_INVALID_WINDOW_HANDLE
# (Wine: ERROR_ACCESS_DENIED); a PeekMessageW that succeeds leaves the last error alone
# (Wine sets ERROR_INVALID_WINDOW_HANDLE on the way for hWnd -1 and for the quit message).
WINE_DIFFERS = {
    "win32_api": {
        "CreateWindowExW unregistered": "= 0 err=1411",
        "DestroyWindow destroyed": "= 0 err=5",
        "DestroyWindow NULL": "= 0 err=5",
        "PeekMessageW (HWND)-1": "= 1 err=1400",
        "PeekMessageW quit by window": "= 1 err=1400",
    },
}
BOTH = ("win32_api", "asyncselect_echo")            # programs Windows can run too




def _expected(name: str) -> str:
    return (HERE / "expected" / f"{name}.txt").read_text()




def _build(cc: str, name: str, out: pathlib.Path) -> pathlib.Path:
    exe = out / name
    subprocess.run([cc, "-Wall", "-Werror", *_flags("--cflags"), f"-I{HERE}",
                    str(HERE / f"{name}.c"), *_flags("--libs"), "-lpthread", "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    return exe


@pytest.mark.parametrize("name", [*BOTH, "win32_wsemu_only"])
def test_program_prints_what_windows_prints(name, cc, tmp_path):
    run = subprocess.run([str(_build(cc, name, tmp_path))], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == _expected(name)
    assert "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    if not (os.access(WINE, os.X_OK) and shutil.which(MINGW)):
        pytest.skip("no Wine or mingw-w64")
    env = dict(os.environ, WINEPREFIX=str(tmp_path_factory.mktemp("wineprefix")), WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=")
    return env


@pytest.mark.parametrize("name", BOTH)
def test_wine_prints_the_same_but_where_wine_is_wrong(name, wine, tmp_path):
    exe = tmp_path / f"{name}.exe"
    subprocess.run([MINGW, "-Wall", "-Werror", f"-I{HERE}", str(HERE / f"{name}.c"), "-lws2_32", "-luser32",
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    run = subprocess.run([WINE, str(exe)], capture_output=True, text=True, timeout=240, env=wine)
    assert run.returncode == 0, run.stderr
    expected = []
    for line in _expected(name).splitlines():
        label = line.split(" = ")[0].rstrip()
        wine_value = WINE_DIFFERS.get(name, {}).get(label)
        expected.append(line if wine_value is None else line[:line.index("= ")] + wine_value)
    assert run.stdout.replace("\r\n", "\n").splitlines() == expected


def test_libwsemu_exports_the_win32_names_only_with_the_wsemu_prefix():
    from wsemu.cli import LIB_DIR
    symbols = subprocess.run(["nm", "-D", "--defined-only", f"{LIB_DIR}/libwsemu.so"], check=True,
                             capture_output=True, text=True).stdout.split()
    for name in ("GetLastError", "Sleep", "CloseHandle", "GetMessageW", "CreateWindowExW", "DispatchMessageW"):
        assert name not in symbols and f"wsemu_{name}" in symbols


# ======================================================================================
# The process's message queue (wsemu.msgqueue) under GetMessageW/PeekMessageW
# ======================================================================================
@pytest.fixture
def windows():
    made = [msgqueue.CreateWindow(), msgqueue.CreateWindow()]
    yield made
    for hwnd in made:
        if msgqueue.IsWindow(hwnd):
            msgqueue.DestroyWindow(hwnd)
    while msgqueue.PeekMessage(msgqueue.ANY) is not None:      # (the queue's own, and a quit)
        pass


def test_any_window_takes_messages_in_posting_order_across_windows(windows):
    a, b = windows
    for hwnd, n in ((a, 1), (msgqueue.NO_WINDOW, 2), (b, 3), (a, 4)):
        assert msgqueue.PostMessage(hwnd, 0x400 + n, n, -n)
    taken = [msgqueue.GetMessage(msgqueue.ANY, 0) for _ in range(4)]
    assert [(m.hwnd, m.message, m.wParam, m.lParam) for m in taken] == [
        (a, 0x401, 1, -1), (msgqueue.NO_WINDOW, 0x402, 2, -2), (b, 0x403, 3, -3), (a, 0x404, 4, -4)]
    assert msgqueue.GetMessage(msgqueue.ANY, 0) is None


def test_a_window_or_the_queue_itself_take_only_their_own(windows):
    a, b = windows
    msgqueue.PostMessage(a, 0x401, 0, 0)
    msgqueue.PostMessage(msgqueue.NO_WINDOW, 0x402, 0, 0)
    msgqueue.PostMessage(b, 0x403, 0, 0)
    assert msgqueue.PeekMessage(b).message == 0x403
    assert msgqueue.PeekMessage(msgqueue.THREAD_ONLY).message == 0x402
    assert msgqueue.PeekMessage(msgqueue.THREAD_ONLY) is None
    assert msgqueue.PeekMessage(a, remove=False).message == 0x401
    assert msgqueue.PeekMessage(a).message == 0x401


def test_message_filters_and_their_reversed_range(windows):
    a, _ = windows
    for message in (0x400, 0x410, 0x420):
        msgqueue.PostMessage(a, message, 0, 0)
    assert msgqueue.PeekMessage(a, first=0x405, last=0x415).message == 0x410
    assert msgqueue.PeekMessage(a, first=0x405, last=0x415) is None
    assert msgqueue.PeekMessage(a, first=0x415, last=0x405).message == 0x400    # outside 0x405..0x415
    assert msgqueue.GetMessage(a, 0, first=0x420, last=0x420).message == 0x420


def test_the_quit_comes_after_the_posted_messages_whatever_the_filters(windows):
    a, _ = windows
    msgqueue.PostQuitMessage(5)
    msgqueue.PostMessage(a, 0x401, 0, 0)
    assert msgqueue.PeekMessage(msgqueue.ANY, remove=False).message == 0x401
    assert msgqueue.GetMessage(a, 0).message == 0x401
    quit_ = msgqueue.GetMessage(a, 0, first=0x500, last=0x500)
    assert (quit_.hwnd, quit_.message, quit_.wParam) == (msgqueue.NO_WINDOW, msgqueue.WM_QUIT, 5)
    assert msgqueue.PeekMessage(msgqueue.ANY) is None                         # taken once


def test_destroying_a_window_drops_its_queued_messages_only(windows):
    a, b = windows
    msgqueue.PostMessage(a, 0x401, 0, 0)
    msgqueue.PostMessage(b, 0x402, 0, 0)
    msgqueue.DestroyWindow(a)
    assert msgqueue.PeekMessage(msgqueue.ANY).message == 0x402
    assert msgqueue.PeekMessage(msgqueue.ANY) is None


def test_wparam_and_lparam_are_win64_sized(windows):
    a, _ = windows
    msgqueue.PostMessage(a, 0x1_0000_0401, -1, (1 << 63) + 5)
    msg = msgqueue.GetMessage(a, 0)
    assert (msg.message, msg.wParam, msg.lParam) == (0x401, (1 << 64) - 1, -(1 << 63) + 5)
    assert 0 <= msg.time <= 0xFFFFFFFF


def test_any_window_get_waits_for_a_post_from_another_thread(windows):
    _, b = windows
    timer = threading.Timer(0.05, msgqueue.PostMessage, (b, 0x409, 9, 0))
    timer.start()
    assert msgqueue.GetMessage(msgqueue.ANY, 5000) == msgqueue.MSG(b, 0x409, 9, 0)
    timer.join()


def test_bad_windows_for_the_new_forms(windows):
    a, _ = windows
    msgqueue.DestroyWindow(a)
    for call in (lambda: msgqueue.PeekMessage(a, first=1, last=2), lambda: msgqueue.GetMessage(True, 0),
                 lambda: msgqueue.PeekMessage(-2)):
        with pytest.raises(WSAError) as info:
            call()
        assert info.value.winerror == W.ERROR_INVALID_WINDOW_HANDLE
    assert msgqueue.PostMessage(a, 0x400, 0, 0) is False
