"""WSA error codes: the errno→WSA tables, ``WSAError`` and the thread's last error.

Windows reaches a WSA code from a kernel failure by one of two paths (CONFORMANCE.md §3):

* **direct** — errno → WSA (``DIRECT``): used for socket creation, SO_ERROR and the error
  codes of network events;
* **via NTSTATUS** — errno → NTSTATUS (``ERRNO_TO_NTSTATUS``) → WSA (``NTSTATUS_TO_WSA``):
  used for I/O and most other calls. Unmapped errnos become STATUS_UNSUCCESSFUL and unmapped
  statuses fall back to WSAEINVAL, which is why e.g. ENOPROTOOPT from an I/O call reads as
  WSAEINVAL.

Every table is plain data; the functions below only look things up.
"""
from __future__ import annotations

import errno as E
import threading

from wsemu.abi import CONSTANTS

# code -> name, for every WSA*/ERROR_* code of winabi.h
ERROR_NAMES: dict[int, str] = {}
for _name, _value in CONSTANTS.items():
    if _name.startswith(("WSAE", "WSA_", "WSASYS", "WSAVER", "WSANOT", "WSAHOST", "WSATRY",
                         "WSANO_", "WSASERVICE", "WSATYPE", "ERROR_")) and not _name.startswith("WSA_WAIT") \
            and _name not in ("WSA_INFINITE", "WSA_MAXIMUM_WAIT_EVENTS", "WSA_FLAG_OVERLAPPED"):
        ERROR_NAMES.setdefault(_value, _name)
del _name, _value

C = CONSTANTS  # short alias for the tables below

# ---- (a) errno -> WSA, direct (server/sock.c sock_get_error) ------------------------------
DIRECT: dict[int, int] = {
    E.EINTR: C["WSAEINTR"], E.EBADF: C["WSAEBADF"], E.EPERM: C["WSAEACCES"],
    E.EACCES: C["WSAEACCES"], E.EFAULT: C["WSAEFAULT"], E.EINVAL: C["WSAEINVAL"],
    E.EMFILE: C["WSAEMFILE"], E.ENFILE: C["WSAEMFILE"], E.EWOULDBLOCK: C["WSAEWOULDBLOCK"],
    E.EINPROGRESS: C["WSAEWOULDBLOCK"], E.EALREADY: C["WSAEALREADY"], E.ENOTSOCK: C["WSAENOTSOCK"],
    E.EDESTADDRREQ: C["WSAEDESTADDRREQ"], E.EMSGSIZE: C["WSAEMSGSIZE"],
    E.EPROTOTYPE: C["WSAEPROTOTYPE"], E.ENOPROTOOPT: C["WSAENOPROTOOPT"],
    E.EPROTONOSUPPORT: C["WSAEPROTONOSUPPORT"], E.ESOCKTNOSUPPORT: C["WSAESOCKTNOSUPPORT"],
    E.EOPNOTSUPP: C["WSAEOPNOTSUPP"], E.EPFNOSUPPORT: C["WSAEPFNOSUPPORT"],
    E.EAFNOSUPPORT: C["WSAEAFNOSUPPORT"], E.EADDRINUSE: C["WSAEADDRINUSE"],
    E.EADDRNOTAVAIL: C["WSAEADDRNOTAVAIL"], E.ENODEV: C["WSAEADDRNOTAVAIL"],
    E.ENETDOWN: C["WSAENETDOWN"], E.ENETUNREACH: C["WSAENETUNREACH"],
    E.ENETRESET: C["WSAENETRESET"], E.ECONNABORTED: C["WSAECONNABORTED"],
    E.ECONNRESET: C["WSAECONNRESET"], E.EPIPE: C["WSAECONNRESET"], E.ENOBUFS: C["WSAENOBUFS"],
    E.EISCONN: C["WSAEISCONN"], E.ENOTCONN: C["WSAENOTCONN"], E.ESHUTDOWN: C["WSAESHUTDOWN"],
    E.ETOOMANYREFS: C["WSAETOOMANYREFS"], E.ETIMEDOUT: C["WSAETIMEDOUT"],
    E.ECONNREFUSED: C["WSAECONNREFUSED"], E.ELOOP: C["WSAELOOP"],
    E.ENAMETOOLONG: C["WSAENAMETOOLONG"], E.EHOSTDOWN: C["WSAEHOSTDOWN"],
    E.EHOSTUNREACH: C["WSAEHOSTUNREACH"], E.ENOTEMPTY: C["WSAENOTEMPTY"],
    E.EUSERS: C["WSAEUSERS"], E.EDQUOT: C["WSAEDQUOT"], E.ESTALE: C["WSAESTALE"],
    E.EREMOTE: C["WSAEREMOTE"],
}
DIRECT_FALLBACK = C["WSAEFAULT"]   # Wine's sock_get_error default, kept for fidelity

# ---- (b) errno -> NTSTATUS, (c) NTSTATUS -> WSA ------------------------------------------
STATUS_SUCCESS = 0x00000000
STATUS_PENDING = 0x00000103
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_UNSUCCESSFUL = 0xC0000001
STATUS_ACCESS_VIOLATION = 0xC0000005
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_NO_MEMORY = 0xC0000017
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_INSUFFICIENT_RESOURCES = 0xC000009A
STATUS_DEVICE_NOT_READY = 0xC00000A3
STATUS_PIPE_DISCONNECTED = 0xC00000B0
STATUS_IO_TIMEOUT = 0xC00000B5
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_REMOTE_NOT_LISTENING = 0xC00000BC
STATUS_NETWORK_BUSY = 0xC00000BF
STATUS_TOO_MANY_OPENED_FILES = 0xC000011F
STATUS_CANCELLED = 0xC0000120
STATUS_LOCAL_DISCONNECT = 0xC000013B
STATUS_REMOTE_DISCONNECT = 0xC000013C
STATUS_INVALID_CONNECTION = 0xC0000140
STATUS_INVALID_ADDRESS = 0xC0000141
STATUS_INVALID_ADDRESS_COMPONENT = 0xC0000207
STATUS_ADDRESS_ALREADY_EXISTS = 0xC000020A
STATUS_CONNECTION_DISCONNECTED = 0xC000020C
STATUS_CONNECTION_RESET = 0xC000020D
STATUS_CONNECTION_REFUSED = 0xC0000236
STATUS_GRACEFUL_DISCONNECT = 0xC0000237
STATUS_ADDRESS_ALREADY_ASSOCIATED = 0xC0000238
STATUS_CONNECTION_ACTIVE = 0xC000023B
STATUS_NETWORK_UNREACHABLE = 0xC000023C
STATUS_HOST_UNREACHABLE = 0xC000023D
STATUS_PORT_UNREACHABLE = 0xC000023F
STATUS_REQUEST_ABORTED = 0xC0000240
STATUS_CONNECTION_ABORTED = 0xC0000241

ERRNO_TO_NTSTATUS: dict[int, int] = {
    E.EBADF: STATUS_INVALID_HANDLE, E.EPERM: STATUS_ACCESS_DENIED, E.EACCES: STATUS_ACCESS_DENIED,
    E.EFAULT: STATUS_ACCESS_VIOLATION, E.EINVAL: STATUS_INVALID_PARAMETER,
    E.EMFILE: STATUS_TOO_MANY_OPENED_FILES, E.ENFILE: STATUS_TOO_MANY_OPENED_FILES,
    E.EWOULDBLOCK: STATUS_DEVICE_NOT_READY, E.EINPROGRESS: STATUS_DEVICE_NOT_READY,
    E.EALREADY: STATUS_NETWORK_BUSY, E.ENOTSOCK: STATUS_OBJECT_TYPE_MISMATCH,
    E.EDESTADDRREQ: STATUS_INVALID_PARAMETER, E.EMSGSIZE: STATUS_BUFFER_OVERFLOW,
    E.EPROTOTYPE: STATUS_NOT_SUPPORTED, E.ENOPROTOOPT: STATUS_INVALID_PARAMETER,
    E.EPROTONOSUPPORT: STATUS_NOT_SUPPORTED, E.ESOCKTNOSUPPORT: STATUS_NOT_SUPPORTED,
    E.EOPNOTSUPP: STATUS_NOT_SUPPORTED, E.EPFNOSUPPORT: STATUS_NOT_SUPPORTED,
    E.EAFNOSUPPORT: STATUS_NOT_SUPPORTED, E.EADDRINUSE: STATUS_SHARING_VIOLATION,
    E.EADDRNOTAVAIL: STATUS_INVALID_ADDRESS_COMPONENT, E.ENODEV: STATUS_INVALID_ADDRESS_COMPONENT,
    E.ENETDOWN: STATUS_NETWORK_BUSY, E.ENETUNREACH: STATUS_NETWORK_UNREACHABLE,
    E.ECONNABORTED: STATUS_CONNECTION_ABORTED, E.ECONNRESET: STATUS_CONNECTION_RESET,
    E.EPIPE: STATUS_CONNECTION_RESET, E.EISCONN: STATUS_CONNECTION_ACTIVE,
    E.ENOTCONN: STATUS_INVALID_CONNECTION, E.ESHUTDOWN: STATUS_PIPE_DISCONNECTED,
    E.ETIMEDOUT: STATUS_IO_TIMEOUT, E.ECONNREFUSED: STATUS_CONNECTION_REFUSED,
    E.EHOSTUNREACH: STATUS_HOST_UNREACHABLE,
    # Windows, not Wine: resource exhaustion is reported as such (WSAENOBUFS), where Wine's
    # table has no entry and falls back to WSAEINVAL.
    E.ENOBUFS: STATUS_INSUFFICIENT_RESOURCES, E.ENOMEM: STATUS_NO_MEMORY,
}

NTSTATUS_TO_WSA: dict[int, int] = {
    STATUS_SUCCESS: 0,
    STATUS_PENDING: C["WSA_IO_PENDING"],
    STATUS_BUFFER_OVERFLOW: C["WSAEMSGSIZE"],
    STATUS_ACCESS_VIOLATION: C["WSAEFAULT"],
    STATUS_INVALID_HANDLE: C["WSAENOTSOCK"],
    STATUS_OBJECT_TYPE_MISMATCH: C["WSAENOTSOCK"],
    STATUS_INVALID_PARAMETER: C["WSAEINVAL"],
    STATUS_ACCESS_DENIED: C["WSAEACCES"],
    STATUS_BUFFER_TOO_SMALL: C["WSAEFAULT"],
    STATUS_SHARING_VIOLATION: C["WSAEADDRINUSE"],
    STATUS_ADDRESS_ALREADY_EXISTS: C["WSAEADDRINUSE"],
    STATUS_DEVICE_NOT_READY: C["WSAEWOULDBLOCK"],
    STATUS_PIPE_DISCONNECTED: C["WSAESHUTDOWN"],
    STATUS_IO_TIMEOUT: C["WSAETIMEDOUT"],
    STATUS_NOT_SUPPORTED: C["WSAEOPNOTSUPP"],
    STATUS_REMOTE_NOT_LISTENING: C["WSAECONNREFUSED"],
    STATUS_CONNECTION_REFUSED: C["WSAECONNREFUSED"],
    STATUS_NETWORK_BUSY: C["WSAENETDOWN"],
    STATUS_CANCELLED: C["WSA_OPERATION_ABORTED"],
    STATUS_LOCAL_DISCONNECT: C["WSAECONNABORTED"],
    STATUS_CONNECTION_ABORTED: C["WSAECONNABORTED"],
    STATUS_REMOTE_DISCONNECT: C["WSAECONNRESET"],
    STATUS_CONNECTION_DISCONNECTED: C["WSAECONNRESET"],
    STATUS_CONNECTION_RESET: C["WSAECONNRESET"],
    STATUS_PORT_UNREACHABLE: C["WSAECONNRESET"],
    STATUS_INVALID_CONNECTION: C["WSAENOTCONN"],
    STATUS_INVALID_ADDRESS: C["WSAEADDRNOTAVAIL"],
    STATUS_INVALID_ADDRESS_COMPONENT: C["WSAEADDRNOTAVAIL"],
    STATUS_CONNECTION_ACTIVE: C["WSAEISCONN"],
    STATUS_NETWORK_UNREACHABLE: C["WSAENETUNREACH"],
    STATUS_HOST_UNREACHABLE: C["WSAEHOSTUNREACH"],
    STATUS_GRACEFUL_DISCONNECT: C["WSAEDISCON"],
    STATUS_REQUEST_ABORTED: C["WSAEINTR"],
    # Windows, not Wine (see ERRNO_TO_NTSTATUS).
    STATUS_TOO_MANY_OPENED_FILES: C["WSAEMFILE"],
    STATUS_INSUFFICIENT_RESOURCES: C["WSAENOBUFS"],
    STATUS_NO_MEMORY: C["WSAENOBUFS"],
}
NTSTATUS_FALLBACK = C["WSAEINVAL"]


def wsa_from_errno(err: int) -> int:
    """errno → WSA code by the direct path (creation, SO_ERROR, event error codes)."""
    return DIRECT.get(err, DIRECT_FALLBACK)


def ntstatus_from_errno(err: int) -> int:
    return ERRNO_TO_NTSTATUS.get(err, STATUS_UNSUCCESSFUL)


def wsa_from_ntstatus(status: int) -> int:
    return NTSTATUS_TO_WSA.get(status, NTSTATUS_FALLBACK)


def wsa_from_errno_io(err: int) -> int:
    """errno → WSA code by the NTSTATUS path (I/O and most other calls)."""
    return NTSTATUS_TO_WSA.get(ERRNO_TO_NTSTATUS.get(err, STATUS_UNSUCCESSFUL), NTSTATUS_FALLBACK)


# ---- messages -----------------------------------------------------------------------------
_MESSAGES: dict[str, str] = {
    "WSAEINTR": "A blocking operation was interrupted by a call to WSACancelBlockingCall.",
    "WSAEBADF": "The file handle supplied is not valid.",
    "WSAEACCES": "An attempt was made to access a socket in a way forbidden by its access permissions.",
    "WSAEFAULT": "The system detected an invalid pointer address in attempting to use a pointer argument in a call.",
    "WSAEINVAL": "An invalid argument was supplied.",
    "WSAEMFILE": "Too many open sockets.",
    "WSAEWOULDBLOCK": "A non-blocking socket operation could not be completed immediately.",
    "WSAEINPROGRESS": "A blocking operation is currently executing.",
    "WSAEALREADY": "An operation was attempted on a non-blocking socket that already had an operation in progress.",
    "WSAENOTSOCK": "An operation was attempted on something that is not a socket.",
    "WSAEDESTADDRREQ": "A required address was omitted from an operation on a socket.",
    "WSAEMSGSIZE": "A message sent on a datagram socket was larger than the internal message buffer or some other network limit, or the buffer used to receive a datagram into was smaller than the datagram itself.",
    "WSAEPROTOTYPE": "A protocol was specified in the socket function call that does not support the semantics of the socket type requested.",
    "WSAENOPROTOOPT": "An unknown, invalid, or unsupported option or level was specified in a getsockopt or setsockopt call.",
    "WSAEPROTONOSUPPORT": "The requested protocol has not been configured into the system, or no implementation for it exists.",
    "WSAESOCKTNOSUPPORT": "The support for the specified socket type does not exist in this address family.",
    "WSAEOPNOTSUPP": "The attempted operation is not supported for the type of object referenced.",
    "WSAEPFNOSUPPORT": "The protocol family has not been configured into the system or no implementation for it exists.",
    "WSAEAFNOSUPPORT": "An address incompatible with the requested protocol was used.",
    "WSAEADDRINUSE": "Only one usage of each socket address (protocol/network address/port) is normally permitted.",
    "WSAEADDRNOTAVAIL": "The requested address is not valid in its context.",
    "WSAENETDOWN": "A socket operation encountered a dead network.",
    "WSAENETUNREACH": "A socket operation was attempted to an unreachable network.",
    "WSAENETRESET": "The connection has been broken due to keep-alive activity detecting a failure while the operation was in progress.",
    "WSAECONNABORTED": "An established connection was aborted by the software in your host machine.",
    "WSAECONNRESET": "An existing connection was forcibly closed by the remote host.",
    "WSAENOBUFS": "An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full.",
    "WSAEISCONN": "A connect request was made on an already connected socket.",
    "WSAENOTCONN": "A request to send or receive data was disallowed because the socket is not connected and (when sending on a datagram socket using a sendto call) no address was supplied.",
    "WSAESHUTDOWN": "A request to send or receive data was disallowed because the socket had already been shut down in that direction with a previous shutdown call.",
    "WSAETIMEDOUT": "A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond.",
    "WSAECONNREFUSED": "No connection could be made because the target machine actively refused it.",
    "WSAEHOSTUNREACH": "A socket operation was attempted to an unreachable host.",
    "WSASYSNOTREADY": "WSAStartup cannot function at this time because the underlying system it uses to provide network services is currently unavailable.",
    "WSAVERNOTSUPPORTED": "The Windows Sockets version requested is not supported.",
    "WSANOTINITIALISED": "Either the application has not called WSAStartup, or WSAStartup failed.",
    "WSAEINVALIDPROCTABLE": "The procedure call table is invalid.",
    "WSAEINVALIDPROVIDER": "The requested service provider is invalid.",
    "WSAEPROVIDERFAILEDINIT": "The requested service provider could not be loaded or initialized.",
    "WSATRY_AGAIN": "This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server.",
    "WSA_INVALID_HANDLE": "The handle is invalid.",
    "WSA_INVALID_PARAMETER": "The parameter is incorrect.",
}


def error_name(code: int) -> str:
    return ERROR_NAMES.get(code, str(code))


def error_message(code: int) -> str:
    name = error_name(code)
    return _MESSAGES.get(name, name)


# ---- the exception ------------------------------------------------------------------------
class WSAError(OSError):
    """A Winsock failure. ``.winerror`` (and ``.errno``, as on Windows) is the WSA code.

    ``WSAError(code)`` returns an instance of a subclass that also derives from the matching
    builtin (``BlockingIOError`` for WSAEWOULDBLOCK, ``ConnectionResetError`` for
    WSAECONNRESET, …) so that ``except BlockingIOError`` works as it does on Windows.
    """

    winerror: int

    def __new__(cls, winerror: int, strerror: str | None = None, *args: object) -> "WSAError":
        if cls is WSAError:
            cls = _BUILTIN_FLAVOURS.get(winerror, WSAError)
        return OSError.__new__(cls, winerror, strerror or error_message(winerror))

    def __init__(self, winerror: int, strerror: str | None = None, *args: object) -> None:
        super().__init__(winerror, strerror or error_message(winerror))
        self.winerror = winerror

    def __reduce__(self):
        # A builtin flavour pickles as WSAError(code, text), which picks the flavour again; a
        # subclass (CatalogCorrupt) as itself. Side-effect attributes (.needed, .written,
        # .optlen, ...) travel as state.
        cls = WSAError if type(self) in _BUILTIN_FLAVOURS.values() else type(self)
        return (cls, (self.winerror, self.strerror), dict(self.__dict__) or None)

    def __str__(self) -> str:
        return f"[WinError {self.winerror}] {error_name(self.winerror)}: {self.strerror}"


def _flavour(code_name: str, builtin: type[OSError]) -> tuple[int, type[WSAError]]:
    return C[code_name], type(WSAError.__name__, (WSAError, builtin), {"__module__": __name__})


_BUILTIN_FLAVOURS: dict[int, type[WSAError]] = dict((
    _flavour("WSAEWOULDBLOCK", BlockingIOError),
    _flavour("WSAEINPROGRESS", BlockingIOError),
    _flavour("WSAEALREADY", BlockingIOError),
    _flavour("WSAECONNRESET", ConnectionResetError),
    _flavour("WSAECONNABORTED", ConnectionAbortedError),
    _flavour("WSAECONNREFUSED", ConnectionRefusedError),
    _flavour("WSAESHUTDOWN", BrokenPipeError),
    _flavour("WSAETIMEDOUT", TimeoutError),
    _flavour("WSAEINTR", InterruptedError),
    _flavour("WSAEACCES", PermissionError),
))


# ---- the thread's last error (WSAGetLastError / WSASetLastError) --------------------------
_last = threading.local()


def get_last_error() -> int:
    return getattr(_last, "code", 0)


def set_last_error(code: int) -> None:
    _last.code = code


def ioctl_failure(code: int, bytes_returned: int | None = None) -> WSAError:
    """A WSPIoctl failure that also says what lpcbBytesReturned holds (None: left alone);
    the C boundaries write it."""
    err = WSAError(code)
    err.bytes_returned = bytes_returned
    return err
