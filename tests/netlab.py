"""A network-namespace test lab: run code in a namespace with a veth pair, from the root one.

``NetLab()`` starts ``tests.netlab_agent`` as the *subject* (wsv0: 198.51.100.1/24,
2001:db8:1::1/64), which starts its *peer* (wsv1: 198.51.100.2/24, 2001:db8:1::2/64); each is
in a network namespace of its own, the two joined by the veth pair.  The test process never
leaves the root namespace (other tests run in it): it sends ``"module:function"`` calls to the
agents, which import and run them there.  Why this way (see the agent's docstring too):

- real kernel namespaces and links, not mocks: netstate's tests need the kernel's own answers;
- nothing is named globally (no /run/netns entries, links exist only inside the namespaces),
  so labs can run side by side and a crashed test leaves nothing behind;
- cleanup is process death: ``close()`` kills both agents and the kernel frees the namespaces
  with their links; the agents also die with their parent (PR_SET_PDEATHSIG - note it fires
  when the parent *thread* exits, so start labs from a thread that outlives them);
- without root the agent uses a user namespace (like ``unshare -rn``), so CI needs no root;
  when neither works the fixtures skip with the agent's reason.

The fixtures ``netlab`` (per test) and ``netlab_module`` are registered in tests/conftest.py.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator, Sequence

import pytest

from tests.netlab_agent import recv_msg, send_msg

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBJECT_IF, PEER_IF = "wsv0", "wsv1"
SUBJECT_V4, PEER_V4 = "198.51.100.1", "198.51.100.2"
SUBJECT_V6, PEER_V6 = "2001:db8:1::1", "2001:db8:1::2"


class NetLabUnavailable(Exception):
    """Namespaces could not be made here; the message is the agent's reason."""


class NetLab:
    """A subject and a peer agent, each in its own netns, joined by wsv0 <-> wsv1."""

    def __init__(self, *, timeout: float = 30.0, start_timeout: float = 60.0,
                 user: str | None = None, launcher: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> None:
        """Start the lab; raises NetLabUnavailable with the agent's reason when it cannot.

        For testing the unprivileged path: ``user`` runs the subject as that user (the test
        process must be root), ``launcher`` is a command that execs the agent (e.g.
        ``unshare --user --map-user=65534 --``), ``env`` replaces the inherited environment.
        ``timeout`` bounds each call; it may be changed on the instance.
        """
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        self._stderr_text = ""
        kw: dict[str, Any] = {}
        if user is not None:
            import pwd
            pw = pwd.getpwnam(user)
            kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        try:
            self._proc = subprocess.Popen([*launcher, sys.executable, "-m",
                                           "tests.netlab_agent", "subject"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, cwd=REPO_ROOT, env=env, **kw)
        except OSError as e:
            self._stderr.close()
            raise NetLabUnavailable(f"cannot start the agent: {e}") from None
        self.pid = self._proc.pid
        self.peer_pid: int | None = None
        self._peer_pidfd: int | None = None
        try:
            status, info = self._receive(start_timeout, "starting the lab")
        except BaseException:
            self.close()
            raise
        if status != "ready":
            self.close()
            raise NetLabUnavailable(f"{info}{self._stderr_tail()}")
        self.info: dict = info
        self.peer_pid = info["peer_pid"]
        self._peer_pidfd = os.pidfd_open(self.peer_pid)

    # --- running code in the namespaces ------------------------------------------------------

    def subject(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` ("module:function") in the subject's namespace and return its result."""
        return self._request(("call", fn, args, kwargs), "subject")

    def peer(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` ("module:function") in the peer's namespace and return its result."""
        return self._request(("peer", fn, args, kwargs), "peer")

    def _request(self, request: tuple, where: str) -> Any:
        if self._proc.poll() is not None or self._proc.stdin is None:
            raise AssertionError(f"the lab is closed or its agent died{self._stderr_tail()}")
        try:
            send_msg(self._proc.stdin.fileno(), request)
        except BrokenPipeError:
            self.close()
            raise AssertionError(f"the subject agent is gone{self._stderr_tail()}") from None
        status, value = self._receive(self.timeout, f"{where} {request[1]}")
        if status != "ok":
            raise AssertionError(f"{where} {request[1]} failed:\n{value}{self._stderr_tail()}")
        return value

    def _receive(self, timeout: float, doing: str) -> tuple:
        """The subject's next message; on a timeout or a dead agent the lab is closed and the
        test fails with the agent's stderr (a stuck agent never hangs the run)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            self.close()
            raise AssertionError(f"no answer from the lab within {timeout}s ({doing})"
                                 f"{self._stderr_tail()}")
        try:
            return recv_msg(fd)             # a started message arrives whole (one writer)
        except EOFError:
            self.close()
            raise AssertionError(f"the subject agent died ({doing}){self._stderr_tail()}") \
                from None

    def _stderr_tail(self, limit: int = 8000) -> str:
        """What the agents wrote to stderr (kept after close), as a message suffix."""
        if not self._stderr.closed:
            self._stderr.seek(0)
            self._stderr_text = self._stderr.read().decode(errors="replace")
        text = self._stderr_text
        return f"\n--- agent stderr ---\n{text[-limit:]}" if text.strip() else ""

    # --- link control in the subject's namespace ---------------------------------------------

    def link_down(self, name: str) -> None:
        """Admin-down ``name``.  The kernel keeps its IPv4 addresses but flushes its global
        IPv6 ones (net.ipv6.conf.*.keep_addr_on_down=0): ``link_up`` does not bring those
        back, re-add them with ``addr_add``."""
        self.subject("tests.netlab_agent:link_set", name, "down")

    def link_up(self, name: str) -> None:
        self.subject("tests.netlab_agent:link_set", name, "up")

    def addr_add(self, name: str, address: str, prefixlen: int) -> None:
        self.subject("tests.netlab_agent:addr", "add", name, address, prefixlen)

    def addr_del(self, name: str, address: str, prefixlen: int) -> None:
        self.subject("tests.netlab_agent:addr", "del", name, address, prefixlen)

    def route_add(self, dst: str, prefixlen: int, gateway: str | None = None) -> None:
        self.subject("tests.netlab_agent:route", "add", dst, prefixlen, gateway)

    def route_del(self, dst: str, prefixlen: int, gateway: str | None = None) -> None:
        self.subject("tests.netlab_agent:route", "del", dst, prefixlen, gateway)

    def ip_json(self, *args: str) -> Any:
        """``ip -j <args>`` in the subject's namespace, parsed (skips without ``ip``)."""
        if shutil.which("ip") is None:
            pytest.skip("the ip command (iproute2) is not installed")
        return self.subject("tests.netlab_agent:ip_json", *args)

    # --- teardown ----------------------------------------------------------------------------

    def close(self) -> None:
        """Kill both agents and wait until they are gone; their namespaces and links go with
        them.  Safe to call twice."""
        if self._peer_pidfd is not None:
            try:
                signal.pidfd_send_signal(self._peer_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except BrokenPipeError:
                    pass
        if self._peer_pidfd is not None:
            select.select([self._peer_pidfd], [], [], 10)     # readable once it has exited
            os.close(self._peer_pidfd)
            self._peer_pidfd = None
        if not self._stderr.closed:
            self._stderr_tail()
            self._stderr.close()

    def __enter__(self) -> NetLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pid_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once ``pid`` is neither running nor a zombie (its parent, or init, has reaped
    it); AssertionError if that has not happened within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {pid} still there (state {state}) after {timeout}s")
        time.sleep(0.01)


def _start_or_skip() -> NetLab:
    try:
        return NetLab()
    except NetLabUnavailable as e:
        pytest.skip(f"no network namespace lab here: {e}")


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    """A fresh lab for one test (skipped, with the reason, where namespaces cannot be made)."""
    lab = _start_or_skip()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def netlab_module() -> Iterator[NetLab]:
    """One lab shared by a module's tests (about 0.1-0.3 s cheaper per test; tests must undo
    their link changes)."""
    lab = _start_or_skip()
    try:
        yield lab
    finally:
        lab.close()
