"""The per-user runtime directory (DESIGN.md §3.4): where the broker's socket and locks live.

$WSEMU_RUNTIME_DIR, else $XDG_RUNTIME_DIR/wsemu, else /tmp/wsemu-$UID; created 0700. Because
the broker hands sockets to whoever can reach it, the directory must be the user's own and
closed to others: a directory that is a symlink, belongs to another user or is open to others
is refused rather than used.
"""
from __future__ import annotations

import os
import pathlib
import stat

from wsemu import abi
from wsemu.errors import WSAError

BROKER_SOCKET = "broker.sock"
BROKER_LOCK = "broker.lock"        # held by the running broker: one per user
START_LOCK = "broker-start.lock"   # serialises clients that start a broker
BROKER_LOG = "broker.log"


class RuntimeDirUnsafe(WSAError):
    """The runtime directory cannot be trusted; the message says why and where."""


def runtime_dir() -> pathlib.Path:
    """The runtime directory, created (0700) if missing and checked for safety."""
    explicit = os.environ.get("WSEMU_RUNTIME_DIR")
    if explicit:
        path = pathlib.Path(explicit)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = pathlib.Path(os.environ["XDG_RUNTIME_DIR"]) / "wsemu"
    else:
        path = pathlib.Path(f"/tmp/wsemu-{os.getuid()}")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise RuntimeDirUnsafe(abi.WSAENETDOWN, f"wsemu runtime directory {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise RuntimeDirUnsafe(abi.WSAENETDOWN, f"wsemu runtime directory {path} is not a directory")
    if info.st_uid != os.getuid():
        raise RuntimeDirUnsafe(abi.WSAENETDOWN,
                               f"wsemu runtime directory {path} belongs to uid {info.st_uid}, not {os.getuid()}")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)          # ours, but too open (e.g. created by an old umask)
    return path


def broker_socket_path() -> pathlib.Path:
    return runtime_dir() / BROKER_SOCKET
