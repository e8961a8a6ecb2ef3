"""The faults LSP's rule file: reading and checking it, and which rule a call matches.

Format (JSON; README "Layered providers" shows an example)::

    {"seed": 7,                                  # random.Random(seed): decisions reproduce
     "rules": [{"call": "WSPConnect",            # an SPI entry that passes intercept, or "*"
                "address": "127.0.0.1",          # optional: the peer or target address
                "port": 8080,                    # optional: its port
                "probability": 0.5,              # optional, default 1
                "after": 2,                      # optional: let the first 2 matches through
                "times": 1,                      # optional: inject at most once
                "action": "error",               # error | delay | short_send | reset
                "error": "WSAECONNREFUSED",      # action error: a WSA name or code
                "delay_ms": 100,                 # action delay
                "bytes": 3}]}                    # action short_send: bytes passed down

Every mistake (unknown key, call, action or error name; a value of the wrong type or out of
range; an action the call cannot take) is a ``RuleError`` naming the file and the rule.
"""
from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import dataclass

from wsemu import abi as W
from wsemu.errors import ERROR_NAMES
from wsemu.spi.table import PROC_NAMES

ANY_CALL = "*"
ACTIONS = ("error", "delay", "short_send", "reset")
# Entries a layer never sees in intercept (the framework answers them itself).
NOT_INTERCEPTED = frozenset(("WSPCleanup", "WSPCancelBlockingCall"))
CALLS = frozenset(PROC_NAMES) - NOT_INTERCEPTED
SENDS = frozenset(("WSPSend", "WSPSendTo"))
WITHOUT_SOCKET = frozenset(("WSPSocket", "WSPSelect", "WSPAddressToString", "WSPStringToAddress"))
KEYS = frozenset(("call", "address", "port", "probability", "after", "times", "action",
                  "error", "delay_ms", "bytes"))
NEEDS = {"error": "error", "delay": "delay_ms", "short_send": "bytes"}   # action -> its value


class RuleError(ValueError):
    """The rule file is unusable; the message says where and why."""


@dataclass
class Rule:
    call: str
    action: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    port: int | None = None
    probability: float = 1.0
    after: int = 0
    times: int | None = None
    error: int = 0
    delay_ms: int = 0
    bytes: int = 0
    seen: int = 0                             # matching calls so far
    injected: int = 0                         # injections so far

    def applies_to(self, call: str) -> bool:
        """Could this rule act on ``call`` (its name, and an action the call can take)?"""
        if self.call not in (call, ANY_CALL):
            return False
        if self.action == "short_send":
            return call in SENDS
        if self.action == "reset":
            return call not in WITHOUT_SOCKET
        return True

    def matches_peer(self, peer: tuple | None) -> bool:
        """``peer``: (host, port, ...) of the call's target or socket, None if it has none."""
        if self.address is None and self.port is None:
            return True
        if peer is None:
            return False
        if self.port is not None and peer[1] != self.port:
            return False
        return self.address is None or _ip(peer[0]) == self.address

    @property
    def needs_peer(self) -> bool:
        return self.address is not None or self.port is not None

    def fires(self, rng: random.Random) -> bool:
        """Does the rule inject at the matching call it has just counted in ``seen``?"""
        if self.seen <= self.after or (self.times is not None and self.injected >= self.times):
            return False
        if self.probability < 1 and not (self.probability > 0 and rng.random() < self.probability):
            return False
        self.injected += 1
        return True


def _ip(host: str):
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def load(path: str) -> tuple[int, list[Rule]]:
    """(seed, rules) of the file at ``path``."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except OSError as exc:
        raise RuleError(f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f'{path}: expected {{"seed": int, "rules": [...]}}')
    unknown = set(document) - {"seed", "rules"}
    if unknown:
        raise RuleError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    seed = document.get("seed", 0)
    if not _is_int(seed):
        raise RuleError(f"{path}: seed must be an integer, not {seed!r}")
    rules = []
    for number, spec in enumerate(document["rules"], 1):
        try:
            rules.append(_rule(spec))
        except RuleError as exc:
            raise RuleError(f"{path}: rule {number}: {exc}") from None
    return seed, rules


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(spec: dict, key: str, minimum: int, default: int | None) -> int | None:
    if key not in spec:
        return default
    value = spec[key]
    if not _is_int(value) or value < minimum:
        raise RuleError(f"{key} must be an integer >= {minimum}, not {value!r}")
    return value


def _rule(spec: object) -> Rule:
    if not isinstance(spec, dict):
        raise RuleError(f"a rule is an object, not {spec!r}")
    unknown = set(spec) - KEYS
    if unknown:
        raise RuleError(f"unknown key(s) {', '.join(sorted(unknown))}")
    call = spec.get("call")
    if call != ANY_CALL and call not in CALLS:
        raise RuleError(f"unknown call {call!r} (one of {', '.join(sorted(CALLS))}, or \"*\")")
    action = spec.get("action")
    if action not in ACTIONS:
        raise RuleError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if action in NEEDS and NEEDS[action] not in spec:
        raise RuleError(f"action {action!r} needs {NEEDS[action]!r}")
    rule = Rule(call, action,
                after=_count(spec, "after", 0, 0), times=_count(spec, "times", 0, None),
                delay_ms=_count(spec, "delay_ms", 0, 0), bytes=_count(spec, "bytes", 1, 0),
                port=_count(spec, "port", 0, None))
    if rule.port is not None and rule.port > 0xFFFF:
        raise RuleError(f"port {rule.port} is not a port")
    if "address" in spec:
        rule.address = _ip(spec["address"]) if isinstance(spec["address"], str) else None
        if rule.address is None:
            raise RuleError(f"address {spec['address']!r} is not an IP address")
    probability = spec.get("probability", 1)
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise RuleError(f"probability must be a number from 0 to 1, not {probability!r}")
    rule.probability = float(probability)
    if action == "error":
        rule.error = _error_code(spec["error"])
    if action == "short_send" and call != ANY_CALL and call not in SENDS:
        raise RuleError(f"short_send applies to WSPSend and WSPSendTo, not {call}")
    if action == "reset" and call in WITHOUT_SOCKET:
        raise RuleError(f"reset needs a socket's call, not {call}")
    return rule


def _error_code(value: object) -> int:
    if isinstance(value, str):
        code = W.CONSTANTS.get(value)
        if code is None or ERROR_NAMES.get(code) is None:
            raise RuleError(f"unknown error name {value!r}")
        return code
    if _is_int(value) and value > 0:
        return value
    raise RuleError(f"error must be a WSA error name or a positive code, not {value!r}")
