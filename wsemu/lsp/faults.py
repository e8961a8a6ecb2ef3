"""The faults LSP: makes calls fail, stall, send short or reset, as a rule file says.

Enable: install it (``wsemu catalog install --lsp faults --over tcp4``, provider path
``python:wsemu.lsp.faults:FaultsProvider``) or ``wsemu run --faults RULES -- CMD``; the rule
file is ``$WSEMU_FAULTS_FILE``, read when the provider starts (the process's first socket after
its first WSAStartup; unset: no rules). Its format is ``wsemu.lsp.fault_rules``'s docstring.
A bad file makes the provider fail to start: socket() gives WSAEPROVIDERFAILEDINIT and the
error's text names the file and the rule.

Every rule counts each call it matches (name, and peer address/port when given: the target of
WSPConnect/WSPSendTo, else the socket's connected peer), so ``after: 2`` means its third match
whatever the other rules do; the rules are tried in order and the first that fires acts (one
action per call; the later rules only count the call). ``times`` caps a rule's injections;
``probability`` draws from ``random.Random(seed)`` each time a rule is tried past ``after`` and
``times``, so the same program with the same rules and seed is faulted at the same calls.

Actions:
* ``error`` — the call fails with the code without reaching the layer below;
* ``delay`` — sleeps ``delay_ms`` then makes the call;
* ``short_send`` — a send passes only its first ``bytes`` bytes down and reports what the layer
  below sent (a partial send, which Windows applications must handle);
* ``reset`` — aborts the connection for real: SO_LINGER {1, 0} and close of the socket below,
  so the peer receives an RST (a Linux shutdown() never sends one); this call and every later
  one on the socket fail WSAECONNRESET until the application closes it.
"""
from __future__ import annotations

import os
import random
import struct
import threading
import time
from typing import Callable

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.errors import WSAError
from wsemu.lsp import fault_rules
from wsemu.spi.layered import LayeredProvider, LayeredSocket

FAULTS_FILE_VARIABLE = "WSEMU_FAULTS_FILE"
ABORTIVE_LINGER = struct.pack("<HH", 1, 0)    # LINGER {l_onoff 1, l_linger 0}: close sends RST
TARGET_ARGUMENT = {"WSPConnect": 0, "WSPJoinLeaf": 0, "WSPSendTo": 3}   # (name, namelen) pairs
RESET = "faults.reset"                        # LayeredSocket.extra key: the socket was reset


class FaultsProvider(LayeredProvider):
    description = "wsemu faults LSP"

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[fault_rules.Rule] = []
        self.rng = random.Random(0)
        self._decide_lock = threading.Lock()

    def WSPStartup(self, wVersionRequested, lpProtocolInfo=None, UpcallTable=None):
        if self.startups == 0:
            self._load_rules(os.environ.get(FAULTS_FILE_VARIABLE))
        return super().WSPStartup(wVersionRequested, lpProtocolInfo, UpcallTable)

    def _load_rules(self, path: str | None) -> None:
        seed, rules = 0, []
        if path:
            try:
                seed, rules = fault_rules.load(path)
            except fault_rules.RuleError as exc:
                raise WSAError(W.WSAEPROVIDERFAILEDINIT, f"faults LSP: {exc}") from None
        self.rules, self.rng = rules, random.Random(seed)

    # ----------------------------------------------------------------------------------
    def intercept(self, call: str, sock: LayeredSocket | None, args: tuple,
                  proceed: Callable[..., object]) -> object:
        if sock is not None and sock.extra.get(RESET):
            if call == "WSPCloseSocket":
                self._unwrap(sock)            # the socket below went at the reset
                return None
            raise WSAError(W.WSAECONNRESET)
        rule = self._decide(call, sock, args) if self.rules else None
        if rule is None:
            return proceed(*args)
        if rule.action == "error":
            raise WSAError(rule.error)
        if rule.action == "delay":
            time.sleep(rule.delay_ms / 1000)
            return proceed(*args)
        if rule.action == "short_send":
            return proceed(*_short(args, rule.bytes))
        return self._reset(sock)

    def _decide(self, call: str, sock: LayeredSocket | None, args: tuple) -> fault_rules.Rule | None:
        """The rule that fires for this call, if one does (counters and draws in call order)."""
        candidates = [rule for rule in self.rules if rule.applies_to(call)]
        if not candidates:
            return None
        peer = self._peer(call, sock, args) if any(r.needs_peer for r in candidates) else None
        chosen = None
        with self._decide_lock:
            for rule in candidates:
                if rule.matches_peer(peer):
                    rule.seen += 1
                    if chosen is None and rule.fires(self.rng):
                        chosen = rule
        return chosen

    def _peer(self, call: str, sock: LayeredSocket | None, args: tuple) -> tuple | None:
        """(host, port, ...) the call goes to: its target argument, else the socket's peer."""
        where = TARGET_ARGUMENT.get(call)
        if where is not None and len(args) > where and args[where] is not None:
            try:
                return sockaddr.parse_name(args[where], args[where + 1] if len(args) > where + 1 else None)[1]
            except WSAError:
                return None                   # a bad address: the call fails on its own
        if sock is None:
            return None
        try:
            return sock.layer.next.WSPGetPeerName(sock.lower)
        except WSAError:
            return None                       # not connected

    def _reset(self, sock: LayeredSocket) -> None:
        below = sock.layer.next
        try:
            below.WSPSetSockOpt(sock.lower, W.SOL_SOCKET, W.SO_LINGER, ABORTIVE_LINGER, len(ABORTIVE_LINGER))
        except WSAError:
            pass                              # not a stream socket: a close is all there is
        try:
            below.WSPCloseSocket(sock.lower)
        except WSAError:
            pass
        with self._lock:
            if self.by_lower.get(sock.lower) is sock:
                del self.by_lower[sock.lower]
            # Nothing reaches the closed handle's number again, which the process may reuse.
            sock.lower = W.INVALID_SOCKET
            sock.extra[RESET] = True
        raise WSAError(W.WSAECONNRESET)


def _short(args: tuple, limit: int) -> tuple:
    """WSPSend/WSPSendTo arguments with only the first ``limit`` bytes of the buffers (the
    arguments unchanged when they hold no more, or are not buffers: the call below judges)."""
    buffers, count = args[0], args[1]
    try:
        buffers = list(buffers)
        if count is not None and not 0 <= count <= len(buffers):
            return args
        views = [memoryview(b).cast("B") for b in buffers[:count]]
    except (TypeError, ValueError):
        return args
    if sum(v.nbytes for v in views) <= limit:
        return args
    kept = []
    for view in views:
        if limit <= 0:
            break
        kept.append(view[:limit])
        limit -= view.nbytes
    return (kept, len(kept) if count is not None else None, *args[2:])
