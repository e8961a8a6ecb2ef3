"""wsemu.errors: the errno→WSA tables of CONFORMANCE.md §3 (both paths), WSAError and the
thread's last error. Pure tests: no sockets.
"""
from __future__ import annotations

import errno as E
import pickle
import threading

import pytest

from wsemu import abi, ws2
from wsemu import errors
from wsemu.catalog import CatalogCorrupt
from wsemu.errors import WSAError, wsa_from_errno, wsa_from_errno_io, wsa_from_ntstatus

W = abi

# CONFORMANCE.md §3: errno → (a) direct WSA, (b)+(c) WSA via NTSTATUS.
ERRNO_TABLE = [
    (E.EINTR, W.WSAEINTR, W.WSAEINVAL),
    (E.EBADF, W.WSAEBADF, W.WSAENOTSOCK),
    (E.EPERM, W.WSAEACCES, W.WSAEACCES),
    (E.EACCES, W.WSAEACCES, W.WSAEACCES),
    (E.EFAULT, W.WSAEFAULT, W.WSAEFAULT),
    (E.EINVAL, W.WSAEINVAL, W.WSAEINVAL),
    # Wine's NTSTATUS path falls back to WSAEINVAL for EMFILE/ENFILE and ENOBUFS; wsemu
    # follows Windows here, where the status maps to "too many sockets" / "no buffer space"
    # (STATUS_TOO_MANY_OPENED_FILES → WSAEMFILE, STATUS_INSUFFICIENT_RESOURCES → WSAENOBUFS).
    (E.EMFILE, W.WSAEMFILE, W.WSAEMFILE),
    (E.ENFILE, W.WSAEMFILE, W.WSAEMFILE),
    (E.EWOULDBLOCK, W.WSAEWOULDBLOCK, W.WSAEWOULDBLOCK),
    (E.EINPROGRESS, W.WSAEWOULDBLOCK, W.WSAEWOULDBLOCK),
    (E.EALREADY, W.WSAEALREADY, W.WSAENETDOWN),
    (E.ENOTSOCK, W.WSAENOTSOCK, W.WSAENOTSOCK),
    (E.EDESTADDRREQ, W.WSAEDESTADDRREQ, W.WSAEINVAL),
    (E.EMSGSIZE, W.WSAEMSGSIZE, W.WSAEMSGSIZE),
    (E.EPROTOTYPE, W.WSAEPROTOTYPE, W.WSAEOPNOTSUPP),
    (E.ENOPROTOOPT, W.WSAENOPROTOOPT, W.WSAEINVAL),
    (E.EPROTONOSUPPORT, W.WSAEPROTONOSUPPORT, W.WSAEOPNOTSUPP),
    (E.ESOCKTNOSUPPORT, W.WSAESOCKTNOSUPPORT, W.WSAEOPNOTSUPP),
    (E.EOPNOTSUPP, W.WSAEOPNOTSUPP, W.WSAEOPNOTSUPP),
    (E.EPFNOSUPPORT, W.WSAEPFNOSUPPORT, W.WSAEOPNOTSUPP),
    (E.EAFNOSUPPORT, W.WSAEAFNOSUPPORT, W.WSAEOPNOTSUPP),
    (E.EADDRINUSE, W.WSAEADDRINUSE, W.WSAEADDRINUSE),
    (E.EADDRNOTAVAIL, W.WSAEADDRNOTAVAIL, W.WSAEADDRNOTAVAIL),
    (E.ENODEV, W.WSAEADDRNOTAVAIL, W.WSAEADDRNOTAVAIL),
    (E.ENETDOWN, W.WSAENETDOWN, W.WSAENETDOWN),
    (E.ENETUNREACH, W.WSAENETUNREACH, W.WSAENETUNREACH),
    (E.ENETRESET, W.WSAENETRESET, W.WSAEINVAL),
    (E.ECONNABORTED, W.WSAECONNABORTED, W.WSAECONNABORTED),
    (E.ECONNRESET, W.WSAECONNRESET, W.WSAECONNRESET),
    (E.EPIPE, W.WSAECONNRESET, W.WSAECONNRESET),
    (E.ENOBUFS, W.WSAENOBUFS, W.WSAENOBUFS),
    (E.EISCONN, W.WSAEISCONN, W.WSAEISCONN),
    (E.ENOTCONN, W.WSAENOTCONN, W.WSAENOTCONN),
    (E.ESHUTDOWN, W.WSAESHUTDOWN, W.WSAESHUTDOWN),
    (E.ETOOMANYREFS, W.WSAETOOMANYREFS, W.WSAEINVAL),
    (E.ETIMEDOUT, W.WSAETIMEDOUT, W.WSAETIMEDOUT),
    (E.ECONNREFUSED, W.WSAECONNREFUSED, W.WSAECONNREFUSED),
    (E.ELOOP, W.WSAELOOP, W.WSAEINVAL),
    (E.ENAMETOOLONG, W.WSAENAMETOOLONG, W.WSAEINVAL),
    (E.EHOSTDOWN, W.WSAEHOSTDOWN, W.WSAEINVAL),
    (E.EHOSTUNREACH, W.WSAEHOSTUNREACH, W.WSAEHOSTUNREACH),
    (E.ENOTEMPTY, W.WSAENOTEMPTY, W.WSAEINVAL),
    (E.EUSERS, W.WSAEUSERS, W.WSAEINVAL),
    (E.EDQUOT, W.WSAEDQUOT, W.WSAEINVAL),
    (E.ESTALE, W.WSAESTALE, W.WSAEINVAL),
    (E.EREMOTE, W.WSAEREMOTE, W.WSAEINVAL),
    # "anything else": direct → WSAEFAULT (Wine's default), via NTSTATUS → STATUS_UNSUCCESSFUL → WSAEINVAL
    (E.ENOENT, W.WSAEFAULT, W.WSAEINVAL),
    (E.EIO, W.WSAEFAULT, W.WSAEINVAL),
    (0, W.WSAEFAULT, W.WSAEINVAL),
]


@pytest.mark.parametrize("err,direct,via_ntstatus", ERRNO_TABLE, ids=[E.errorcode.get(r[0], str(r[0])) for r in ERRNO_TABLE])
def test_errno_to_wsa_both_paths(err, direct, via_ntstatus):
    assert wsa_from_errno(err) == direct
    assert wsa_from_errno_io(err) == via_ntstatus
    assert wsa_from_ntstatus(errors.ntstatus_from_errno(err)) == via_ntstatus


def test_unmapped_errno_goes_through_status_unsuccessful():
    assert errors.ntstatus_from_errno(E.EINTR) == errors.STATUS_UNSUCCESSFUL


# CONFORMANCE.md §3, "Other notable NTSTATUS→WSA entries" (and the fallback).
NTSTATUS_TABLE = [
    (errors.STATUS_SUCCESS, 0),
    (errors.STATUS_PENDING, W.WSA_IO_PENDING),
    (errors.STATUS_CANCELLED, W.WSA_OPERATION_ABORTED),
    (errors.STATUS_INVALID_ADDRESS, W.WSAEADDRNOTAVAIL),
    (errors.STATUS_ADDRESS_ALREADY_EXISTS, W.WSAEADDRINUSE),
    (errors.STATUS_LOCAL_DISCONNECT, W.WSAECONNABORTED),
    (errors.STATUS_REMOTE_DISCONNECT, W.WSAECONNRESET),
    (errors.STATUS_CONNECTION_DISCONNECTED, W.WSAECONNRESET),
    (errors.STATUS_PORT_UNREACHABLE, W.WSAECONNRESET),
    (errors.STATUS_GRACEFUL_DISCONNECT, W.WSAEDISCON),
    (errors.STATUS_REQUEST_ABORTED, W.WSAEINTR),
    (errors.STATUS_BUFFER_TOO_SMALL, W.WSAEFAULT),
    (errors.STATUS_BUFFER_OVERFLOW, W.WSAEMSGSIZE),
    (errors.STATUS_REMOTE_NOT_LISTENING, W.WSAECONNREFUSED),
    (errors.STATUS_IO_TIMEOUT, W.WSAETIMEDOUT),
    (errors.STATUS_PIPE_DISCONNECTED, W.WSAESHUTDOWN),
    (errors.STATUS_ADDRESS_ALREADY_ASSOCIATED, W.WSAEINVAL),   # no entry: "bind twice" → WSAEINVAL
    (errors.STATUS_UNSUCCESSFUL, W.WSAEINVAL),
    (0xC0DEC0DE, W.WSAEINVAL),
]


@pytest.mark.parametrize("status,code", NTSTATUS_TABLE, ids=[f"{s:#010x}" for s, _ in NTSTATUS_TABLE])
def test_ntstatus_to_wsa(status, code):
    assert wsa_from_ntstatus(status) == code


# ======================================================================================
# WSAError
# ======================================================================================
FLAVOURS = [
    (W.WSAEWOULDBLOCK, BlockingIOError), (W.WSAEINPROGRESS, BlockingIOError), (W.WSAEALREADY, BlockingIOError),
    (W.WSAECONNRESET, ConnectionResetError), (W.WSAECONNABORTED, ConnectionAbortedError),
    (W.WSAECONNREFUSED, ConnectionRefusedError), (W.WSAESHUTDOWN, BrokenPipeError),
    (W.WSAETIMEDOUT, TimeoutError), (W.WSAEINTR, InterruptedError), (W.WSAEACCES, PermissionError),
]


@pytest.mark.parametrize("code,builtin", FLAVOURS, ids=[errors.error_name(c) for c, _ in FLAVOURS])
def test_wsaerror_flavours_are_the_matching_builtin(code, builtin):
    err = WSAError(code)
    assert isinstance(err, WSAError) and isinstance(err, builtin) and isinstance(err, OSError)
    assert err.winerror == err.errno == code
    with pytest.raises(builtin):
        raise err


def test_plain_wsaerror_has_no_flavour():
    err = WSAError(W.WSAEINVAL)
    assert type(err) is WSAError
    assert not isinstance(err, (BlockingIOError, ConnectionError, TimeoutError, PermissionError))
    assert ws2.WSAError is WSAError


def test_wsaerror_text_names_the_code():
    err = WSAError(W.WSAEWOULDBLOCK)
    assert "10035" in str(err) and "WSAEWOULDBLOCK" in str(err)
    assert err.strerror == errors.error_message(W.WSAEWOULDBLOCK)
    assert WSAError(W.WSAEINVAL, "custom text").strerror == "custom text"
    assert errors.error_name(W.WSANOTINITIALISED) == "WSANOTINITIALISED"
    assert errors.error_name(123456) == "123456"


@pytest.mark.parametrize("code", [W.WSAEINVAL, W.WSAEWOULDBLOCK, W.WSAECONNRESET, W.WSAEACCES])
def test_wsaerror_pickles_with_its_flavour(code):
    err = WSAError(code)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert (back.winerror, back.errno, back.strerror) == (code, code, err.strerror)


def test_wsaerror_pickle_keeps_the_side_effect_attributes():
    """``.needed`` (WSAEnumProtocols), ``.written``/``.optlen`` (getsockopt) and the like are
    part of the error's meaning and must survive a trip to another process."""
    err = WSAError(W.WSAENOBUFS)
    err.needed = 2512
    err.written = b"\0\0"
    back = pickle.loads(pickle.dumps(err))
    assert (back.needed, back.written) == (2512, b"\0\0")


def test_wsaerror_subclass_pickles_as_itself():
    err = CatalogCorrupt(W.WSASYSNOTREADY, "the wsemu catalog file /x/catalog.json is corrupt")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is CatalogCorrupt
    assert (back.winerror, back.strerror) == (W.WSASYSNOTREADY, err.strerror)


def test_error_names_cover_the_wsa_codes():
    for name in ("WSAEINTR", "WSAEWOULDBLOCK", "WSAENOTSOCK", "WSAECONNRESET", "WSASYSNOTREADY",
                 "WSAVERNOTSUPPORTED", "WSANOTINITIALISED", "WSA_IO_PENDING", "WSATRY_AGAIN"):
        assert errors.error_name(getattr(W, name)) == name


# ======================================================================================
# The thread's last error
# ======================================================================================
def test_last_error_is_per_thread():
    """Two threads set different codes at the same moment (a barrier lines them up) and each
    reads back its own; the main thread's value is untouched."""
    ws2.WSASetLastError(111)
    barrier = threading.Barrier(2)
    seen = {}

    def worker(code: int) -> None:
        ws2.WSASetLastError(code)
        barrier.wait()                    # both have set their code before either reads
        seen[code] = ws2.WSAGetLastError()
        barrier.wait()

    threads = [threading.Thread(target=worker, args=(code,)) for code in (W.WSAEINVAL, W.WSAENOTSOCK)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {W.WSAEINVAL: W.WSAEINVAL, W.WSAENOTSOCK: W.WSAENOTSOCK}
    assert ws2.WSAGetLastError() == 111
    ws2.WSASetLastError(0)


def test_a_failing_call_sets_only_its_own_threads_last_error():
    ws2.WSASetLastError(0)
    got = []

    def worker() -> None:
        with pytest.raises(WSAError):
            ws2.WSAStringToAddressW("not an address", W.AF_INET)
        got.append(ws2.WSAGetLastError())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert got == [W.WSAEINVAL]
    assert ws2.WSAGetLastError() == 0


def test_new_thread_starts_with_last_error_0():
    ws2.WSASetLastError(W.WSAEFAULT)
    got = []
    thread = threading.Thread(target=lambda: got.append(ws2.WSAGetLastError()))
    thread.start()
    thread.join()
    assert got == [0]
    ws2.WSASetLastError(0)
