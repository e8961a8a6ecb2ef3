"""Starting a catalog entry's provider, as ws2_32 does (reference/spi.md §1.1, §6).

A provider path names either a Python provider — ``python:package.module`` (its module-level
``WSPStartup``) or ``python:package.module:Name`` (``Name`` is a class, made once per process,
or an object; its ``WSPStartup`` method) — or a shared object exporting ``WSPStartup`` (a C
provider, started through the C ABI by ``wsemu.spi.cprovider``). Like a DLL, each path is
loaded once per process; WSPStartup is called once per provider GUID by the caller (ws2).
ws2_32's checks on the answer: WSPDATA 2.2 (else WSAEINVALIDPROVIDER) and all 30 entries
(else WSAEINVALIDPROCTABLE); a provider that cannot be loaded is WSAEPROVIDERFAILEDINIT.
"""
from __future__ import annotations

import importlib
import threading

from wsemu import abi as W
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.errors import WSAError
from wsemu.spi.table import WSPDATA, WSPPROC_TABLE

PYTHON_PREFIX = "python:"
VERSION = 0x0202

_modules: dict[str, object] = {}      # provider path -> its WSPStartup (the "loaded DLL")
_lock = threading.Lock()


def start_provider(path: str, upcalls, info: WSAPROTOCOL_INFOW) -> tuple[WSPDATA, WSPPROC_TABLE]:
    """WSPStartup(2.2, info, upcalls) of the provider at ``path``, checked as ws2_32 checks it."""
    startup = _entry_point(path)
    try:
        result = startup(VERSION, info, upcalls)
    except WSAError:
        raise
    except Exception as exc:          # a provider's bug is its failure to start, not ours
        raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"provider {path}: WSPStartup raised {exc!r}") from exc
    try:
        data, table = result
    except (TypeError, ValueError):
        raise WSAError(W.WSAEINVALIDPROCTABLE, f"provider {path}: WSPStartup returned no table") from None
    if getattr(data, "wVersion", None) != VERSION:
        raise WSAError(W.WSAEINVALIDPROVIDER, f"provider {path}: version {getattr(data, 'wVersion', None)!r}, not 2.2")
    if not isinstance(table, WSPPROC_TABLE):
        table = WSPPROC_TABLE.from_provider(table)
    if table.missing():
        raise WSAError(W.WSAEINVALIDPROCTABLE,
                       f"provider {path}: no {', '.join(table.missing())} in its table")
    return data, table


def _entry_point(path: str):
    startup = _modules.get(path)
    if startup is None:
        with _lock:
            startup = _modules.get(path)
            if startup is None:
                startup = _modules[path] = _load(path)
    return startup


def _load(path: str):
    if not path.startswith(PYTHON_PREFIX):
        try:
            from wsemu.spi import cprovider
        except ImportError as exc:        # (no C face in this installation)
            raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"provider {path} cannot be loaded: {exc}") from None
        return lambda version, info, upcalls: cprovider.start(path, version, info, upcalls)
    module_name, _, name = path[len(PYTHON_PREFIX):].partition(":")
    try:
        module = importlib.import_module(module_name)
        target = getattr(module, name) if name else module
    except Exception as exc:
        raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"provider {path} cannot be loaded: {exc}") from None
    if isinstance(target, type):
        target = target()              # one instance per process, as a DLL's globals
    if hasattr(target, "provider_path"):
        target.provider_path = path    # how a DLL knows its own file (GetModuleFileName)
    startup = getattr(target, "WSPStartup", None)
    if not callable(startup):
        raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"provider {path} has no WSPStartup")
    return startup

