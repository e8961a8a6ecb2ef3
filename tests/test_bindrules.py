"""The Windows bind-conflict rules as a pure function (wsemu.spi.bindrules.conflict).

Expected results are Windows' (research r2 §2.2; CONFORMANCE.md items 70-77), including the
rows Wine marks todo_wine. Every case is "the first socket is bound, then the second binds".
"""
from __future__ import annotations

import pytest

from wsemu import abi as W
from wsemu.spi.bindrules import Binding, conflict

PORT = 9375
ACCES, INUSE, OK = W.WSAEACCES, W.WSAEADDRINUSE, None


def v4(address: str, **options: bool) -> Binding:
    return Binding(W.AF_INET, address, PORT, **options)


def v6(address: str, **options: bool) -> Binding:
    """An IPv6 socket with IPV6_V6ONLY 0, as in the SO_EXCLUSIVEADDRUSE table."""
    return Binding(W.AF_INET6, address, PORT, dual_stack=True, **options)


ANY4, LOOP4 = "0.0.0.0", "127.0.0.1"
ANY6, LOOP6 = "::", "::1"
MAPPED_LOOP, MAPPED_ANY = "::ffff:127.0.0.1", "::ffff:0.0.0.0"
EXCL = {"exclusive": True}

# Item 76: the 21 rows of tests_exclusive, in the test's order.
EXCLUSIVE_TABLE = [
    ("row00-any4_excl-then-loop4", v4(ANY4, **EXCL), v4(LOOP4), ACCES),
    ("row01-any6_excl-then-loop4", v6(ANY6, **EXCL), v4(LOOP4), ACCES),
    ("row02-any4-then-loop4_excl", v4(ANY4), v4(LOOP4, **EXCL), OK),
    ("row03-any4_excl-then-loop4_excl", v4(ANY4, **EXCL), v4(LOOP4, **EXCL), ACCES),
    ("row04-loop4_excl-then-any4", v4(LOOP4, **EXCL), v4(ANY4), OK),
    ("row05-loop4-then-any4_excl", v4(LOOP4), v4(ANY4, **EXCL), INUSE),
    ("row06-loop4-then-any6_excl", v4(LOOP4), v6(ANY6, **EXCL), INUSE),
    ("row07-loop6-then-any4_excl", v6(LOOP6), v4(ANY4, **EXCL), OK),
    ("row08-loop6_excl-then-loop4_excl", v6(LOOP6, **EXCL), v4(LOOP4, **EXCL), OK),
    ("row09-mappedloop6-then-any4_excl", v6(MAPPED_LOOP), v4(ANY4, **EXCL), INUSE),
    ("row10-any6_excl-then-any4", v6(ANY6, **EXCL), v4(ANY4), ACCES),
    ("row11-any6-then-any4_excl", v6(ANY6), v4(ANY4, **EXCL), OK),
    ("row12-any4-then-any4_excl", v4(ANY4), v4(ANY4, **EXCL), INUSE),
    ("row13-any4-then-any4", v4(ANY4), v4(ANY4), INUSE),
    ("row14-any6-then-any4", v6(ANY6), v4(ANY4), OK),
    ("row15-mappedany6-then-any4", v6(MAPPED_ANY), v4(ANY4), INUSE),
    ("row16-mappedloop6-then-loop4", v6(MAPPED_LOOP), v4(LOOP4), INUSE),
    ("row17-loop4-then-mappedloop6", v4(LOOP4), v6(MAPPED_LOOP), INUSE),
    ("row18-loop6_excl-then-loop4_excl", v6(LOOP6, **EXCL), v4(LOOP4, **EXCL), OK),
    ("row19-loop4_excl-then-loop4", v4(LOOP4, **EXCL), v4(LOOP4), INUSE),
    ("row20-loop4-then-loop4_excl", v4(LOOP4), v4(LOOP4, **EXCL), INUSE),
]


@pytest.mark.parametrize("first, second, expected", [row[1:] for row in EXCLUSIVE_TABLE],
                         ids=[row[0] for row in EXCLUSIVE_TABLE])
def test_item_76_exclusiveaddruse_table(first: Binding, second: Binding, expected: int | None) -> None:
    assert conflict(second, [first]) == expected


def test_item_76_table_has_21_rows() -> None:
    assert len(EXCLUSIVE_TABLE) == 21


def test_item_77_exclusive_dual_stack_any_refuses_reuseaddr_any4() -> None:
    assert conflict(v4(ANY4, reuseaddr=True), [v6(ANY6, **EXCL)]) == ACCES


# test_reuseaddr runs every scenario for IPv4 and for IPv6 (V6ONLY left at its default 1).
FAMILIES = {
    "ipv4": (W.AF_INET, ANY4, LOOP4),
    "ipv6": (W.AF_INET6, ANY6, LOOP6),
}


@pytest.fixture(params=list(FAMILIES), name="fam")
def _fam(request):
    family, any_, loop = FAMILIES[request.param]
    return lambda which, **options: Binding(family, any_ if which == "any" else loop, PORT, **options)


def test_item_70_same_address_twice_is_in_use(fam) -> None:
    assert conflict(fam("loop"), [fam("loop")]) == INUSE


def test_item_71_reuseaddr_beside_plain_is_access_denied(fam) -> None:
    assert conflict(fam("loop", reuseaddr=True), [fam("loop")]) == ACCES


def test_item_71_two_reuseaddr_sockets_share(fam) -> None:
    assert conflict(fam("loop", reuseaddr=True), [fam("loop", reuseaddr=True)]) is OK


def test_item_71_plain_beside_reuseaddr_is_in_use(fam) -> None:
    assert conflict(fam("loop"), [fam("loop", reuseaddr=True)]) == INUSE


def test_item_71_reusers_join_a_group_of_reusers(fam) -> None:
    group = [fam("loop", reuseaddr=True), fam("loop", reuseaddr=True)]
    assert conflict(fam("loop", reuseaddr=True), group) is OK
    assert conflict(fam("loop"), group) == INUSE


def test_item_73_wildcard_twice_is_in_use(fam) -> None:
    assert conflict(fam("any"), [fam("any")]) == INUSE


def test_item_74_specific_beside_wildcard(fam) -> None:
    assert conflict(fam("loop"), [fam("any")]) is OK


def test_item_75_wildcard_beside_specific(fam) -> None:
    assert conflict(fam("any"), [fam("loop")]) is OK


def test_ipv6only_wildcard_leaves_ipv4_wildcard_free() -> None:
    v6only_any = Binding(W.AF_INET6, ANY6, PORT)
    assert conflict(v4(ANY4), [v6only_any]) is OK
    assert conflict(v4(ANY4), [Binding(W.AF_INET6, ANY6, PORT, exclusive=True)]) is OK


def test_other_ports_never_conflict() -> None:
    elsewhere = Binding(W.AF_INET, ANY4, PORT + 1, exclusive=True)
    assert conflict(v4(LOOP4), [elsewhere]) is OK


def test_access_denied_wins_over_in_use() -> None:
    # 127.0.0.1 plain gives WSAEADDRINUSE, the exclusive wildcard WSAEACCES: Windows says ACCES.
    assert conflict(v4(LOOP4), [v4(LOOP4), v4(ANY4, **EXCL)]) == ACCES
    assert conflict(v4(LOOP4), [v4(ANY4, **EXCL), v4(LOOP4)]) == ACCES


def test_exclusive_ipv6_wildcard_claims_every_ipv6_address() -> None:
    loop6, exclusive_any6 = Binding(W.AF_INET6, LOOP6, PORT), Binding(W.AF_INET6, ANY6, PORT, **EXCL)
    assert conflict(loop6, [exclusive_any6]) == ACCES
    assert conflict(exclusive_any6, [loop6]) == INUSE


def test_link_local_scopes_are_distinct_addresses() -> None:
    first = Binding(W.AF_INET6, "fe80::1%2", PORT)
    assert conflict(Binding(W.AF_INET6, "fe80::1%3", PORT), [first]) is OK
    assert conflict(Binding(W.AF_INET6, "fe80::1%2", PORT), [first]) == INUSE


def test_v4_compatible_address_claims_its_ipv4_address() -> None:
    assert conflict(v4("10.0.0.1"), [v6("::10.0.0.1")]) == INUSE
