"""The trace LSP: one JSON line per SPI call that passes it, for every process that uses it.

Enable: install it (``wsemu catalog install --lsp trace --over tcp4,tcp6``, provider path
``python:wsemu.lsp.trace:TraceProvider``) or run a program under ``wsemu run --trace FILE``.
The file is ``$WSEMU_TRACE_FILE``, read when the provider starts (the process's first socket
after its first WSAStartup); unset, ``trace.jsonl`` in the wsemu config directory.

Each line: ``{"time": unix seconds, "pid", "thread": native thread id, "layer": {"protocol":
its chain entry's szProtocol, "catalog_id"}, "call": "WSPSend", "socket": the application's
handle or null, "args": [the arguments after the socket, summarised by wsemu.lsp.summary],
"result": summarised, "error": the WSA error code or 0, "duration_us"}``.

Every line is written by one ``write`` on an ``O_APPEND`` descriptor: threads and processes
sharing the file interleave whole lines. A line is built once, after the call returned (a
receive's buffers then hold what arrived), by one json.dumps: no formatting happens before
or during the call, so the call's own duration is measured without the tracer's cost.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Callable

from wsemu import abi as W
from wsemu import catalog
from wsemu.errors import WSAError
from wsemu.lsp import summary
from wsemu.spi.layered import LayeredProvider, LayeredSocket

TRACE_FILE_VARIABLE = "WSEMU_TRACE_FILE"
DEFAULT_FILE_NAME = "trace.jsonl"             # in the config directory
_ENCODER = json.JSONEncoder(separators=(",", ":"))   # made once: json.dumps(separators=) makes one a call


def trace_path() -> str:
    """Where this process's trace goes: $WSEMU_TRACE_FILE, else the config directory's file."""
    return os.environ.get(TRACE_FILE_VARIABLE) or str(catalog.config_dir() / DEFAULT_FILE_NAME)


class TraceProvider(LayeredProvider):
    description = "wsemu trace LSP"

    def __init__(self) -> None:
        super().__init__()
        self._fd: int | None = None           # the trace file, open while the provider is started
        self._fd_lock = threading.Lock()      # a write never reaches a number closed meanwhile
        self._layer_fields: dict[int, dict] = {}

    def WSPStartup(self, wVersionRequested, lpProtocolInfo=None, UpcallTable=None):
        # (self._fd, not self.startups: installed twice in one chain, this provider's first
        # WSPStartup starts it again for the layer below before counting itself)
        if self._fd is None:
            self._open(trace_path())
        try:
            return super().WSPStartup(wVersionRequested, lpProtocolInfo, UpcallTable)
        except BaseException:
            if self.startups == 0:
                self._close()
            raise

    def WSPCleanup(self) -> None:
        super().WSPCleanup()
        if self.startups == 0:
            self._close()

    def _open(self, path: str) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WSAError(W.WSAEPROVIDERFAILEDINIT,
                           f"trace LSP: cannot open the trace file {path} ({exc.strerror})") from None
        with self._fd_lock:
            self._fd = fd

    def _close(self) -> None:
        with self._fd_lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    # ----------------------------------------------------------------------------------
    def intercept(self, call: str, sock: LayeredSocket | None, args: tuple,
                  proceed: Callable[..., object]) -> object:
        started = time.time()
        clock = time.perf_counter_ns()
        try:
            result = proceed(*args)
        except WSAError as err:
            self._write(call, sock, args, started, clock, None, err.winerror)
            raise
        except Exception as exc:              # a layer below broke: the line says what
            self._write(call, sock, args, started, clock, None, None, type(exc).__name__)
            raise
        self._write(call, sock, args, started, clock, result, 0)
        return result

    def _write(self, call: str, sock: LayeredSocket | None, args: tuple, started: float,
               clock: int, result: object, error: int | None, exception: str | None = None) -> None:
        duration_us = (time.perf_counter_ns() - clock) // 1000
        line = {"time": started, "pid": os.getpid(), "thread": threading.get_native_id(),
                "layer": self._layer_summary(call, sock, args), "call": call,
                "socket": sock.handle if sock is not None else None,
                "args": summary.arguments(call, args, result), "result": summary.value(result),
                "error": error, "duration_us": duration_us}
        if exception is not None:
            line["exception"] = exception
        text = (_ENCODER.encode(line) + "\n").encode()
        with self._fd_lock:
            if self._fd is not None:
                try:
                    os.write(self._fd, text)
                except OSError:               # a full disk must not fail the call
                    pass

    def _layer_summary(self, call: str, sock: LayeredSocket | None, args: tuple) -> dict | None:
        layer = self.call_layer(sock)
        if layer is None:
            return None
        fields = self._layer_fields.get(layer.entry.id)
        if fields is None:
            fields = self._layer_fields[layer.entry.id] = {
                "protocol": layer.entry.info.szProtocol, "catalog_id": layer.entry.id}
        return fields

