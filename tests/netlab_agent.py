"""An RPC agent that lives in its own network namespace (the test lab's far end).

Run as ``python -m tests.netlab_agent ROLE`` (ROLE is ``subject`` or ``peer``) from the repo
root, with stdin/stdout as pipes.  Why it is built this way:

- Real namespaces, made by the process itself: at start, while still single-threaded, it calls
  ``unshare(CLONE_NEWNET)`` (as root) or ``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` with a
  one-uid map (as anyone else, like ``unshare -rn``), so it holds CAP_NET_ADMIN in a network
  namespace of its own while the test process stays in the root one.
- No global names: nothing goes under /run/netns; the namespaces exist only because these
  processes are in them, and the veth pair lives in them.  Two labs never clash.
- Cleanup by process death: when the agents die (killed by the lab, or by PR_SET_PDEATHSIG
  when their parent dies), the kernel frees the namespaces and with them the veth pair.

The ``subject`` starts a ``peer`` agent as its own child (so without root the peer is inside
the subject's user namespace and needs only CLONE_NEWNET), creates the veth pair, moves
``wsv1`` into the peer's namespace through ``/proc/<pid>/ns/net``, has both sides addressed
and up, and reports ready only once the peer answers over IPv4 and IPv6.

Protocol: each message is a 4-byte big-endian length and a pickle.  The first message is
``("ready", info)`` or ``("unavailable", reason)``.  Requests are ``("call", "module:function",
args, kwargs)`` and, on the subject, ``("peer", ...)`` which is relayed to the peer.  Replies are
``("ok", result)`` or ``("error", "Type: message\\n" + traceback)``.  Called functions keep
their state in module globals (e.g. a dict of open sockets) between calls.  Whatever a called
function prints goes to stderr: the protocol owns the real stdout.
"""
from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1

SUBJECT_IF, PEER_IF = "wsv0", "wsv1"
SUBJECT_ADDRS = (("198.51.100.1", 24), ("2001:db8:1::1", 64))
PEER_ADDRS = (("198.51.100.2", 24), ("2001:db8:1::2", 64))
READY_DEADLINE = 20.0
#: Set to "1" to take the user-namespace path even as root (how root tests the CI path).
FORCE_USERNS_ENV = "WSEMU_NETLAB_USERNS"
#: How this agent got its namespace: the euid it started with, and whether it made a userns.
START: dict = {}


def _enter_namespace(role: str) -> str | None:
    """Move this (single-threaded) process into a fresh netns; None, or why it could not."""
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)        # die with the process that started us
    if os.getppid() != parent:
        os._exit(1)
    forced = os.environ.get(FORCE_USERNS_ENV) == "1"
    use_userns = role == "subject" and (os.geteuid() != 0 or forced)
    uid, gid = os.geteuid(), os.getegid()
    START.update(euid=uid, userns=use_userns)
    flags = CLONE_NEWNET | (CLONE_NEWUSER if use_userns else 0)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        what = "CLONE_NEWUSER|CLONE_NEWNET" if use_userns else "CLONE_NEWNET"
        return f"unshare({what}) as uid {uid} failed: {os.strerror(err)} (errno {err})"
    if use_userns:
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                               ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError as e:
            return f"user namespace map for uid {uid} failed: {e}"
    return None


# --- the wire -------------------------------------------------------------------------------

def send_msg(fd: int, obj: object) -> None:
    import pickle
    data = pickle.dumps(obj)
    data = len(data).to_bytes(4, "big") + data
    while data:
        data = data[os.write(fd, data):]


def recv_msg(fd: int) -> object:
    """The next message, or EOFError when the other end has closed."""
    import pickle
    size = int.from_bytes(_read_exact(fd, 4), "big")
    return pickle.loads(_read_exact(fd, size))


def _read_exact(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError("pipe closed")
        buf += chunk
    return buf


def run_call(fn: str, args: tuple, kwargs: dict) -> tuple:
    """Import ``module`` of ``"module:function"``, call it, and say how it went."""
    import importlib
    import traceback
    try:
        module, _, name = fn.partition(":")
        func = getattr(importlib.import_module(module), name)
        return ("ok", func(*args, **kwargs))
    except BaseException as e:                       # noqa: BLE001 - everything goes back
        return ("error", f"{type(e).__name__}: {e}\n" + traceback.format_exc())


# --- jobs the lab calls in the agents ---------------------------------------------------------

def ifindex(name: str) -> int:
    from pyroute2 import IPRoute
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
    if not found:
        raise LookupError(f"no link {name!r} in this namespace")
    return found[0]


def link_set(name: str, state: str) -> None:
    """``ip link set <name> up|down`` in this agent's namespace."""
    from pyroute2 import IPRoute
    with IPRoute() as ipr:
        ipr.link("set", index=ifindex(name), state=state)


def addr(cmd: str, name: str, address: str, prefixlen: int) -> None:
    """Add or delete an address; IPv6 ones are added nodad, so usable at once."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD
    extra = {"flags": IFA_F_NODAD} if ":" in address and cmd == "add" else {}
    with IPRoute() as ipr:
        ipr.addr(cmd, index=ifindex(name), address=address, prefixlen=prefixlen, **extra)


def route(cmd: str, dst: str, prefixlen: int, gateway: str | None = None) -> None:
    from pyroute2 import IPRoute
    kw = {"gateway": gateway} if gateway else {}
    with IPRoute() as ipr:
        ipr.route(cmd, dst=f"{dst}/{prefixlen}", **kw)


def ip_json(*args: str) -> object:
    """``ip -j <args>`` run in this agent's namespace, parsed."""
    import json
    import subprocess
    out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


def configure_side(name: str, addrs: tuple) -> None:
    """``lo`` and ``name`` up, with ``addrs`` on ``name`` (what each agent does for itself)."""
    for address, prefixlen in addrs:
        addr("add", name, address, prefixlen)
    link_set("lo", "up")
    link_set(name, "up")


def answers(host: str, port: int = 9, timeout: float = 0.5) -> str:
    """One TCP attempt: 'connected', 'refused' (the host answered either way) or the errno."""
    import errno
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return "connected"
        except ConnectionRefusedError:
            return "refused"
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))


# --- the subject: veth pair, the peer, and the relay -------------------------------------------

class _Peer:
    def __init__(self) -> None:
        import subprocess
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.netlab_agent", "peer"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        first = recv_msg(self.proc.stdout.fileno())
        if first[0] != "ready":
            raise _Unavailable(f"peer agent: {first[1]}")

    def call(self, fn: str, *args: object) -> object:
        send_msg(self.proc.stdin.fileno(), ("call", fn, args, {}))
        status, value = recv_msg(self.proc.stdout.fileno())
        if status != "ok":
            raise RuntimeError(f"peer {fn} failed: {value}")
        return value

    def relay(self, request: tuple) -> object:
        send_msg(self.proc.stdin.fileno(), ("call", *request[1:]))
        return recv_msg(self.proc.stdout.fileno())


class _Unavailable(Exception):
    pass


def _build_subject() -> tuple[_Peer, dict]:
    import time
    from pyroute2 import IPRoute
    peer = _Peer()
    with IPRoute() as ipr:
        ipr.link("add", ifname=SUBJECT_IF, kind="veth", peer=PEER_IF)
        ns = os.open(f"/proc/{peer.proc.pid}/ns/net", os.O_RDONLY)
        try:
            ipr.link("set", index=ipr.link_lookup(ifname=PEER_IF)[0], net_ns_fd=ns)
        finally:
            os.close(ns)
    peer.call("tests.netlab_agent:configure_side", PEER_IF, PEER_ADDRS)
    configure_side(SUBJECT_IF, SUBJECT_ADDRS)
    # Ready when the peer answers on each address (a RST or an accept is an answer).
    deadline = time.monotonic() + READY_DEADLINE
    for host, _ in PEER_ADDRS:
        while (seen := answers(host)) not in ("refused", "connected"):
            if time.monotonic() > deadline:
                raise _Unavailable(f"peer {host} did not answer within {READY_DEADLINE}s: {seen}")
    return peer, {"pid": os.getpid(), "peer_pid": peer.proc.pid, "uid": os.getuid(), **START}


def main(role: str) -> None:
    reason = _enter_namespace(role)
    # The protocol owns the real stdin/stdout; prints from called code go to stderr.
    rfd, wfd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if reason:
        send_msg(wfd, ("unavailable", reason))
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if sys.path[:1] != [root]:
        sys.path.insert(0, root)
    # "tests.netlab_agent:..." must name this module, not import a second copy of it.
    sys.modules.setdefault("tests.netlab_agent", sys.modules[__name__])
    peer = None
    if role == "subject":
        try:
            peer, info = _build_subject()
        except _Unavailable as e:
            send_msg(wfd, ("unavailable", str(e)))
            return
        except Exception as e:                        # noqa: BLE001 - reported, not swallowed
            import traceback
            send_msg(wfd, ("unavailable", f"lab setup failed: {type(e).__name__}: {e}\n"
                                          + traceback.format_exc()))
            return
    else:
        info = {"pid": os.getpid(), "uid": os.getuid(), **START}
    send_msg(wfd, ("ready", info))
    while True:
        try:
            request = recv_msg(rfd)
        except EOFError:
            break
        if request[0] == "peer" and peer is not None:
            reply = peer.relay(request)
        elif request[0] == "call":
            reply = run_call(*request[1:])
        else:
            reply = ("error", f"ValueError: bad request {request[0]!r} for a {role}\n")
        send_msg(wfd, reply)
    if peer is not None:
        peer.proc.kill()
        peer.proc.wait()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "subject")
