"""wsemu's sitecustomize: ``wsemu run`` puts this directory first on PYTHONPATH, so that every
Python program it starts — and every Python child of theirs, since the environment is
inherited — has Windows' ``socket.socket.share`` and ``socket.fromshare`` (wsemu.compat) with
no change to its code, and ``hasattr(socket, "fromshare")`` is true as on Windows.

Chaining. Python imports only the *first* ``sitecustomize`` on sys.path, and this one comes
first, so it runs the one Python would have run without it: the first ``sitecustomize`` found
on sys.path once this directory — and any other wsemu copy of it — is left out (Debian's
/usr/lib/python3.X/sitecustomize.py, a virtual environment's, one of the user's on PYTHONPATH). It runs under the name
``sitecustomize`` and replaces this module in sys.modules, so ``import sitecustomize`` gives
the module it gives without wsemu; an exception in it propagates to site.py, which reports it
exactly as it would have. ``usercustomize`` is not touched (Python imports it separately).

An interpreter that cannot import wsemu (another Python than the one wsemu is installed in):
``wsemu run`` exports WSEMU_PYTHON_ROOTS, the import roots of wsemu and its dependencies, and
WSEMU_PYTHON_TAG, its interpreter's ``sys.implementation.cache_tag``. An interpreter of the
same tag appends those roots to sys.path (after its own, which keep precedence) and looks
again; if wsemu still cannot be found the roots are taken off again, one line on stderr says
so, and the program runs without share/fromshare — as on a Python that lacks them, which such
programs already handle. ``python -E``/``-I`` ignore PYTHONPATH, so they run their usual
sitecustomize and get no share/fromshare; ``python -S`` runs no sitecustomize at all.
"""
import os
import socket
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))


def _install_wsemu() -> None:
    """wsemu.compat.install(), but without importing wsemu before a program shares a socket:
    this runs at every interpreter start, and loading wsemu (its native layouts) would cost
    ~15 ms each time; ``import socket`` costs ~3. The functions installed here load
    wsemu.compat on their first call and are otherwise its share/fromshare."""
    if not _wsemu_importable():
        return
    if not hasattr(socket.socket, "share"):
        socket.socket.share = share
    if not hasattr(socket, "fromshare"):
        socket.fromshare = fromshare
    if "fromshare" not in socket.__all__:
        socket.__all__.append("fromshare")


def share(self, process_id: int, /) -> bytes:
    """share(process_id) -> bytes

    Share the socket with another process.  The target process id
    must be provided and the resulting bytes object passed to the target
    process.  There the shared socket can be instantiated by calling
    socket.fromshare().
    """
    from wsemu import compat
    return compat.share(self, process_id)


def fromshare(info: bytes) -> socket.socket:
    """fromshare(info) -> socket object

    Create a socket object from the bytes object returned by
    socket.share(pid).
    """
    from wsemu import compat
    return compat.fromshare(info)


fromshare.__module__ = "socket"      # where it lives once installed (pickle finds it there)


def _wsemu_importable() -> bool:
    import importlib.util
    if _found():
        return True
    roots = [r for r in os.environ.get("WSEMU_PYTHON_ROOTS", "").split(os.pathsep) if r]
    tag = os.environ.get("WSEMU_PYTHON_TAG")
    if not roots or tag != sys.implementation.cache_tag:
        _say(f"wsemu is installed for {tag or 'another Python'}, this is {sys.implementation.cache_tag}")
        return False
    added = [r for r in roots if r not in sys.path]
    sys.path.extend(added)          # after this interpreter's own entries, which keep precedence
    importlib.invalidate_caches()
    if _found():
        return True
    for root in added:
        sys.path.remove(root)
    _say(f"wsemu or cffi not found in {os.pathsep.join(roots)}")
    return False


def _found() -> bool:
    import importlib.util
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("wsemu", "_cffi_backend"))
    except (ImportError, ValueError):
        return False


def _say(why: str) -> None:
    sys.stderr.write(f"wsemu: socket.share/fromshare are not available in {sys.executable}: {why}\n")


def _chain() -> None:
    """Run the sitecustomize Python would have found without this directory (see above) —
    nor any other copy of it: two wsemu installations on one PYTHONPATH (a nested `wsemu
    run`) must not chain to each other for ever."""
    import importlib.machinery
    import importlib.util
    skipped = {_HERE}
    while True:
        path = [p for p in sys.path if os.path.realpath(p or os.curdir) not in skipped]
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
        if spec is None or spec.loader is None:
            return
        if not (spec.origin and _is_wsemu_site(spec.origin)):
            break
        skipped.add(os.path.dirname(os.path.realpath(spec.origin)))
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_WSEMU_SITECUSTOMIZE = True     # the mark _is_wsemu_site looks for


def _is_wsemu_site(origin: str) -> bool:
    try:
        with open(origin, "rb") as f:
            return b"\n_WSEMU_SITECUSTOMIZE = True" in f.read()
    except OSError:
        return False


_install_wsemu()
_chain()
