"""The network-namespace lab: what it builds, the kernel facts it shows, and that it leaves
nothing behind.  The module-level functions without ``test_`` are jobs the agents run
("tests.test_netlab:<name>"); they keep their sockets in ``_SOCKETS`` between calls."""
from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys

import pytest

from tests.netlab import (PEER_V4, PEER_V6, REPO_ROOT, SUBJECT_V4, SUBJECT_V6, NetLab,
                          NetLabUnavailable, pid_gone)

JOBS = "tests.test_netlab"
_SOCKETS: dict[int, socket.socket] = {}


# --- jobs (run inside an agent) ---------------------------------------------------------------

def tcp_listen(host: str) -> int:
    """A listener on ``host``; returns its port (also its handle)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.bind((host, 0))
    s.listen(4)
    port = s.getsockname()[1]
    _SOCKETS[port] = s
    return port


def tcp_accept(port: int, timeout: float = 5.0) -> str:
    """Accept one connection on the listener ``port``; the remote address."""
    lst = _SOCKETS[port]
    lst.settimeout(timeout)
    conn, remote = lst.accept()
    conn.close()
    return remote[0]


def tcp_connect(host: str, port: int, timeout: float = 5.0) -> str:
    """A plain Python TCP connect: 'connected', or the errno's name."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return "connected"
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))


def agent_facts() -> dict:
    return {"sys.path[0]": sys.path[0], "cwd": os.getcwd(), "uid": os.getuid(),
            "env": os.environ.get("WSEMU_RUNTIME_DIR"), "netns": os.readlink("/proc/self/ns/net"),
            "links": [name for _, name in socket.if_nameindex()]}


def chatty_failure() -> None:
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    raise ZeroDivisionError("job failed on purpose")


# --- helpers ----------------------------------------------------------------------------------

def addresses(lab: NetLab, ifname: str = "wsv0") -> set[tuple[str, int]]:
    return {(a["local"], a["prefixlen"]) for link in lab.ip_json("addr", "show", ifname)
            for a in link["addr_info"] if a.get("scope") == "global"}


def root_ns_links() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def run_netns_entries() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


# --- tests ------------------------------------------------------------------------------------

def test_subject_sees_wsv0_with_its_addresses_and_the_root_ns_does_not(netlab: NetLab) -> None:
    assert addresses(netlab) == {(SUBJECT_V4, 24), (SUBJECT_V6, 64)}
    facts = netlab.subject(f"{JOBS}:agent_facts")
    assert set(facts["links"]) == {"lo", "wsv0"}
    assert facts["netns"] != os.readlink("/proc/self/ns/net")
    assert not any(name.startswith("wsv") for name in root_ns_links())
    [link] = netlab.ip_json("link", "show", "wsv0")
    assert link["operstate"] == "UP"


@pytest.mark.parametrize("peer_addr, subject_addr", [(PEER_V4, SUBJECT_V4),
                                                     (PEER_V6, SUBJECT_V6)], ids=["ipv4", "ipv6"])
def test_subject_connects_to_a_listener_in_the_peer(netlab: NetLab, peer_addr: str,
                                                    subject_addr: str) -> None:
    port = netlab.peer(f"{JOBS}:tcp_listen", peer_addr)      # state kept for the next call
    assert netlab.subject(f"{JOBS}:tcp_connect", peer_addr, port) == "connected"
    assert netlab.peer(f"{JOBS}:tcp_accept", port) == subject_addr


def test_link_down_makes_tcp_connect_fail_with_enetunreach_and_link_up_restores_it(
        netlab: NetLab) -> None:
    # The kernel fact netstate builds on: Linux says ENETUNREACH, never ENETDOWN, for a TCP
    # connect over an admin-down link, so WSAENETDOWN has to be synthesized.
    port = netlab.peer(f"{JOBS}:tcp_listen", PEER_V4)
    netlab.link_down("wsv0")
    assert netlab.subject(f"{JOBS}:tcp_connect", PEER_V4, port) == "ENETUNREACH"
    netlab.link_up("wsv0")
    assert netlab.subject(f"{JOBS}:tcp_connect", PEER_V4, port) == "connected"
    assert netlab.peer(f"{JOBS}:tcp_accept", port) == SUBJECT_V4


def test_link_down_keeps_the_ipv4_address_but_flushes_the_global_ipv6_one(
        netlab: NetLab) -> None:
    port = netlab.peer(f"{JOBS}:tcp_listen", PEER_V6)
    netlab.link_down("wsv0")
    assert addresses(netlab) == {(SUBJECT_V4, 24)}
    assert netlab.subject(f"{JOBS}:tcp_connect", PEER_V6, port) == "ENETUNREACH"
    netlab.link_up("wsv0")                 # does not bring the IPv6 address back
    assert addresses(netlab) == {(SUBJECT_V4, 24)}
    assert netlab.subject(f"{JOBS}:tcp_connect", PEER_V6, port) == "ENETUNREACH"
    netlab.addr_add("wsv0", SUBJECT_V6, 64)   # nodad: usable at once
    assert netlab.subject(f"{JOBS}:tcp_connect", PEER_V6, port) == "connected"


def test_addr_and_route_helpers_change_the_subject_namespace(netlab_module: NetLab) -> None:
    lab = netlab_module
    lab.addr_add("wsv0", "198.51.100.10", 24)
    assert (("198.51.100.10", 24)) in addresses(lab)
    lab.addr_del("wsv0", "198.51.100.10", 24)
    assert ("198.51.100.10", 24) not in addresses(lab)
    lab.route_add("192.0.2.0", 24, PEER_V4)
    assert {"dst": "192.0.2.0/24", "gateway": PEER_V4} in [
        {k: r.get(k) for k in ("dst", "gateway")} for r in lab.ip_json("route")]
    lab.route_del("192.0.2.0", 24, PEER_V4)
    assert "192.0.2.0/24" not in [r["dst"] for r in lab.ip_json("route")]


def test_agents_inherit_the_environment_and_put_the_repo_root_first(
        netlab_module: NetLab) -> None:
    for facts in (netlab_module.subject(f"{JOBS}:agent_facts"),
                  netlab_module.peer(f"{JOBS}:agent_facts")):
        assert facts["sys.path[0]"] == REPO_ROOT
        assert facts["cwd"] == REPO_ROOT
        assert facts["env"] == os.environ["WSEMU_RUNTIME_DIR"]


def test_a_failing_call_raises_with_the_remote_traceback_and_the_agent_output(
        netlab_module: NetLab) -> None:
    with pytest.raises(AssertionError) as failed:
        netlab_module.peer(f"{JOBS}:chatty_failure")
    text = str(failed.value)
    assert "ZeroDivisionError: job failed on purpose" in text
    assert "in chatty_failure" in text                   # the remote traceback
    assert "printed to stdout" in text and "printed to stderr" in text
    assert netlab_module.subject("os:getpid") == netlab_module.pid   # still serving


def test_a_stuck_agent_fails_the_call_instead_of_hanging() -> None:
    lab = _lab_or_skip()
    lab.timeout = 0.5
    with pytest.raises(AssertionError, match="no answer from the lab within 0.5s"):
        lab.subject("time:sleep", 60)
    assert pid_gone(lab.pid) and pid_gone(lab.peer_pid)


def test_close_leaves_no_links_no_names_and_no_agents() -> None:
    names_before = run_netns_entries()
    lab = _lab_or_skip()
    pids = (lab.pid, lab.peer_pid)
    lab.close()
    lab.close()                                          # twice is harmless
    assert pid_gone(pids[0]) and pid_gone(pids[1])
    assert not any(name.startswith("wsv") for name in root_ns_links())
    assert run_netns_entries() == names_before


def test_two_labs_side_by_side_do_not_clash() -> None:
    names_before = run_netns_entries()
    with _lab_or_skip() as first, _lab_or_skip() as second:
        facts = [lab.subject(f"{JOBS}:agent_facts") for lab in (first, second)]
        assert facts[0]["netns"] != facts[1]["netns"]
        for lab in (first, second):
            port = lab.peer(f"{JOBS}:tcp_listen", PEER_V4)
            assert lab.subject(f"{JOBS}:tcp_connect", PEER_V4, port) == "connected"
        assert run_netns_entries() == names_before
    assert not any(name.startswith("wsv") for name in root_ns_links())


def test_lab_builds_inside_a_user_namespace() -> None:
    # As root, force the path an unprivileged CI user takes: CLONE_NEWUSER|CLONE_NEWNET.
    lab = _lab_or_skip(env=dict(os.environ, WSEMU_NETLAB_USERNS="1"))
    with lab:
        assert os.readlink(f"/proc/{lab.pid}/ns/user") != os.readlink("/proc/self/ns/user")
        assert os.readlink(f"/proc/{lab.peer_pid}/ns/user") == \
            os.readlink(f"/proc/{lab.pid}/ns/user")       # the peer is inside it
        assert lab.info["userns"]
        port = lab.peer(f"{JOBS}:tcp_listen", PEER_V6)
        assert lab.subject(f"{JOBS}:tcp_connect", PEER_V6, port) == "connected"


def test_lab_builds_as_nobody_or_skips_with_the_reason() -> None:
    if os.geteuid() != 0:
        launch: dict = {}                 # already unprivileged: the plain lab is this test
    else:
        launch = _as_nobody()
    _check_unprivileged_lab(_lab_or_skip(**launch))


def test_lab_builds_for_a_uid_without_capabilities() -> None:
    # Where nobody cannot read the interpreter (it lives under a 0700 /root here), root can
    # still start the agent as uid 65534 with no capabilities inside a user namespace
    # (``unshare --map-user``): its files stay readable, its privileges are nobody's.
    launch: dict = {}
    if os.geteuid() == 0:
        launcher = ["unshare", "--user", "--map-user=65534", "--map-group=65534", "--"]
        try:
            probe = subprocess.run([*launcher, "true"], capture_output=True, text=True)
        except OSError as e:
            pytest.skip(f"no unshare command: {e}")
        if probe.returncode != 0:
            pytest.skip(f"unshare --map-user does not work here: {probe.stderr.strip()}")
        launch = {"launcher": launcher}
    _check_unprivileged_lab(_lab_or_skip(**launch))


def _check_unprivileged_lab(lab: NetLab) -> None:
    with lab:
        assert lab.info["euid"] != 0 and lab.info["userns"]   # took the unshare -rn path
        assert lab.info["uid"] == 0                           # root in its own user namespace
        assert addresses(lab) == {(SUBJECT_V4, 24), (SUBJECT_V6, 64)}
        for host in (PEER_V4, PEER_V6):
            port = lab.peer(f"{JOBS}:tcp_listen", host)
            assert lab.subject(f"{JOBS}:tcp_connect", host, port) == "connected"
        lab.link_down("wsv0")                                 # CAP_NET_ADMIN in its netns
        assert lab.subject(f"{JOBS}:tcp_connect", PEER_V4, 9) == "ENETUNREACH"


def _as_nobody() -> dict:
    """How to start the agent as ``nobody``; skip with the reason when nobody cannot run the
    interpreter or read the repo.  (A setpriv CAP_DAC_READ_SEARCH stand-in does not work: the
    capability stops applying to root-owned files once the agent is in its own user
    namespace, so the stdlib becomes unreadable mid-import.)"""
    probe = [sys.executable, "-c", "import tests.netlab_agent, pyroute2"]
    try:
        done = subprocess.run(probe, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=60, user="nobody", group="nogroup", extra_groups=[])
    except OSError as e:
        pytest.skip(f"nobody cannot run the agent here: {e}")
    if done.returncode != 0:
        pytest.skip(f"nobody cannot run the agent here: {done.stderr.strip()[-500:]}")
    return {"user": "nobody"}


def _lab_or_skip(**kwargs) -> NetLab:
    try:
        return NetLab(**kwargs)
    except NetLabUnavailable as e:
        pytest.skip(f"no network namespace lab here: {e}")
