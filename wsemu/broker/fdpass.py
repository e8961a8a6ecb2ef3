"""Descriptor passing over AF_UNIX: what the broker, its clients and the inboxes share.

Received ancillary data is unpacked into descriptors (SCM_RIGHTS) and the sender's
kernel-verified credentials (SCM_CREDENTIALS); descriptors nobody keeps are closed here.
"""
from __future__ import annotations

import array
import os
import socket
import struct

CREDENTIALS = struct.Struct("iII")                  # struct ucred: pid, uid, gid
# Plain ints: comparisons against the socket module's IntEnum members are slow.
_SOL_SOCKET, _SCM_RIGHTS, _SCM_CREDENTIALS = int(socket.SOL_SOCKET), int(socket.SCM_RIGHTS), int(socket.SCM_CREDENTIALS)


def unpack(ancillary) -> tuple[list[int], tuple[int, int, int] | None]:
    """(descriptors received, (pid, uid, gid) of the sender or None) from recvmsg's ancillary data."""
    fds: list[int] = []
    creds = None
    for level, kind, data in ancillary:
        if level != _SOL_SOCKET:
            continue
        if kind == _SCM_RIGHTS:
            received = array.array("i")
            received.frombytes(data[:len(data) - len(data) % 4])
            fds.extend(received)
        elif kind == _SCM_CREDENTIALS and len(data) >= CREDENTIALS.size:
            creds = CREDENTIALS.unpack_from(data)
    return fds, creds


def rights(fds) -> list:
    """The ancillary data that sends ``fds`` (none for an empty tuple)."""
    return [(_SOL_SOCKET, _SCM_RIGHTS, array.array("i", fds))] if fds else []


def close_all(fds) -> None:
    """Close descriptors that are not kept (already closed ones are no error)."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
