"""Shared fixtures: an isolated wsemu environment, WSAStartup/WSACleanup, fd-leak checks."""
from __future__ import annotations

import gc
import os
import tempfile

# Isolate every test run from the user's real catalog and runtime dir, and make the ws2
# error boundary re-raise internal errors instead of masking them as WSAEFAULT.
_ISOLATED = tempfile.mkdtemp(prefix="wsemu-tests-")
os.environ.setdefault("WSEMU_CONFIG_DIR", os.path.join(_ISOLATED, "config"))
os.environ.setdefault("WSEMU_RUNTIME_DIR", os.path.join(_ISOLATED, "run"))
os.environ["WSEMU_STRICT"] = "1"

import pytest  # noqa: E402

from wsemu import ws2  # noqa: E402
from wsemu.spi.descriptor import table  # noqa: E402
from tests.helpers import open_fds, send_queue_idle  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _stop_the_test_broker():
    """The broker the tests started (in their own runtime dir) does not outlive them."""
    yield
    import signal
    lock = os.path.join(os.environ["WSEMU_RUNTIME_DIR"], "broker.lock")
    try:
        pid = int(open(lock).read().split()[0])
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, IndexError):
        pass


@pytest.fixture(scope="session", autouse=True)
def _process_wide_fds():
    # Process-wide descriptors wsemu opens once on first need; open them up front so the
    # per-module leak check compares like with like.
    table()._dead()
    # multiprocessing keeps a pipe to its resource tracker from the first 'spawn' on.
    import multiprocessing.resource_tracker
    multiprocessing.resource_tracker.ensure_running()
    from wsemu.broker import protocol
    from wsemu.broker.client import client
    client().request(protocol.Ping())      # the process's broker connection (starts the broker)
    from wsemu.spi import inbox
    inbox.inbox.open()                     # the process's inbox (listener and its epoll)
    yield


@pytest.fixture(scope="module", autouse=True)
def no_leaked_fds(request):
    """The process's descriptor count is back to its baseline after each test module."""
    before = open_fds()
    yield
    while ws2._proc.startups:
        ws2.WSACleanup()
    # Event objects are the application's to close (WSACleanup leaves them, as on Windows);
    # the modules that make them close theirs, the random-argument sweep cannot.
    from wsemu.events.objects import events
    if request.module.__name__.endswith("test_badinput"):
        events.close_all()
    assert send_queue_idle(), "the send queue still holds data after the module"
    # Shared-state arenas are unmapped and closed with their last reference, which a failed
    # call's traceback (kept by a test's pytest.raises) can hold in a cycle: collect those.
    gc.collect()
    after = open_fds()
    leaked = {fd: target for fd, target in after.items() if fd not in before}
    assert not leaked, f"descriptors leaked by this module: {leaked}"


@pytest.fixture
def ws():
    """WSAStartup(2.2) for the test; WSACleanup (closing what is left) afterwards."""
    ws2.WSAStartup(0x0202)
    yield ws2
    while ws2._proc.startups:
        ws2.WSACleanup()


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """WSEMU_CONFIG_DIR pointed at a fresh directory, with no outstanding WSAStartup; the
    process catalog is re-read from the real test config afterwards."""
    from wsemu import catalog
    while ws2._proc.startups:
        ws2.WSACleanup()
    monkeypatch.setenv("WSEMU_CONFIG_DIR", str(tmp_path))
    yield tmp_path
    while ws2._proc.startups:
        ws2.WSACleanup()
    monkeypatch.undo()
    catalog.reload()


@pytest.fixture
def pair(ws):
    """A connected TCP pair (client, server); whatever the test left open is closed."""
    from tests.helpers import tcp_pair
    from wsemu.errors import WSAError
    client, server = tcp_pair()
    yield client, server
    for s in (client, server):
        try:
            ws2.closesocket(s)
        except WSAError:
            pass


@pytest.fixture(scope="module")
def cc() -> str:
    """A C compiler for the C face's tests (skipped without one)."""
    import shutil
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    return compiler


# The network-namespace lab's fixtures (tests/netlab.py), for every test module.
from tests import netlab as _netlab  # noqa: E402

netlab = _netlab.netlab
netlab_module = _netlab.netlab_module
