"""``wsemu run --trace FILE / --faults RULES``: the shipped LSPs for one program only.

The program gets a temporary config directory holding a copy of the user's catalog with the
layers installed over every base entry (the faults layer next to the base, the trace layer
above it, so the trace shows the faults as the program sees them); the user's catalog is not
touched. A small detached process removes the directory when the program has exited, since
``wsemu run`` becomes the program (exec) and cannot clean up after it.
"""
from __future__ import annotations

import os
import pathlib
import select
import shutil
import tempfile

from wsemu import abi as W
from wsemu import catalog
from wsemu.errors import WSAError
from wsemu.lsp import fault_rules
from wsemu.lsp.faults import FAULTS_FILE_VARIABLE
from wsemu.lsp.trace import TRACE_FILE_VARIABLE

TRACE_PATH = "python:wsemu.lsp.trace:TraceProvider"
FAULTS_PATH = "python:wsemu.lsp.faults:FaultsProvider"
# Names of their own, so they never clash with a "trace" or "faults" the user installed.
TRACE_NAME = "wsemu run --trace"
FAULTS_NAME = "wsemu run --faults"


def environment(trace_file: str | None, faults_file: str | None) -> dict[str, str]:
    """The variables that put the program on a catalog with the asked-for layers (none asked:
    no variables). A rule file is checked here, so its mistakes are told before the program
    runs (WSAError WSAEPROVIDERFAILEDINIT, the provider's own message)."""
    if not trace_file and not faults_file:
        return {}
    layered = catalog.CatalogStore().load()
    over = [e.id for e in layered.entries if e.chain_len == W.BASE_PROTOCOL]
    env = {}
    if faults_file:
        try:
            fault_rules.load(faults_file)
        except fault_rules.RuleError as exc:
            raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"faults LSP: {exc}") from None
        over = _chains(layered, layered.install_layered(FAULTS_NAME, FAULTS_PATH, over))
        env[FAULTS_FILE_VARIABLE] = os.path.abspath(faults_file)
    if trace_file:
        layered.install_layered(TRACE_NAME, TRACE_PATH, over)
        env[TRACE_FILE_VARIABLE] = os.path.abspath(trace_file)
    directory = tempfile.mkdtemp(prefix="wsemu-run-")
    catalog.CatalogStore(pathlib.Path(directory)).save(layered)
    remove_when_exited(directory, os.getpid())
    env["WSEMU_CONFIG_DIR"] = directory
    return env


def _chains(cat: catalog.Catalog, layered_entry: catalog.CatalogEntry) -> list[int]:
    """The chain entries of the LSP whose layered entry is ``layered_entry``."""
    return [e.id for e in cat.entries
            if e.chain_len > W.BASE_PROTOCOL and e.info.ProtocolChain.ChainEntries[0] == layered_entry.id]


def remove_when_exited(directory: str, pid: int) -> None:
    """Remove ``directory`` once process ``pid`` has exited, from a detached grandchild (it is
    no child of the program, whose wait() must not see it) holding no descriptor of ours but
    a pidfd of ``pid``."""
    pidfd = os.pidfd_open(pid)
    child = os.fork()
    if child == 0:
        try:
            if os.fork() == 0:
                os.setsid()
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.closerange(3, pidfd)
                os.closerange(pidfd + 1, os.sysconf("SC_OPEN_MAX"))
                select.select([pidfd], [], [])     # readable when the process has exited
                shutil.rmtree(directory, ignore_errors=True)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    os.close(pidfd)
