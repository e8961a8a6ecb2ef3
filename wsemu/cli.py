"""The `wsemu` command."""
from __future__ import annotations

import argparse
import os
import signal
import sys

from wsemu import abi as W
from wsemu import catalog
from wsemu.errors import WSAError


def _demo(args: argparse.Namespace) -> int:
    from wsemu import demo
    return demo.main()


def _catalog_list(args: argparse.Namespace) -> int:
    print(catalog.format_listing(catalog.CatalogStore().load()), end="")
    return 0


# The LSPs wsemu ships, installable by name alone (their modules are imported by the process
# that loads them, never by the installer).
SHIPPED_LSP_PATHS = {
    "trace": "python:wsemu.lsp.trace:TraceProvider",
    "faults": "python:wsemu.lsp.faults:FaultsProvider",
}


def _catalog_install(args: argparse.Namespace) -> int:
    from wsemu.spi import wsc
    path = args.path or SHIPPED_LSP_PATHS.get(args.lsp)
    if path is None:
        raise WSAError(W.WSAEINVAL, f"LSP {args.lsp!r} is not shipped with wsemu: give its --path "
                                    f"(shipped: {', '.join(SHIPPED_LSP_PATHS)})")
    over = [target for target in args.over.split(",") if target.strip()]
    layered = wsc.install_lsp(args.lsp, path, over, ifs=args.ifs)
    chains = [i for i in wsc.WSCEnumProtocols() if i.ProtocolChain.ChainEntries[0] == layered.dwCatalogEntryId
              and i.ProtocolChain.ChainLen > W.BASE_PROTOCOL]
    print(f"wsemu: installed LSP {args.lsp!r} (layered entry {layered.dwCatalogEntryId}, chain entries "
          f"{', '.join(str(i.dwCatalogEntryId) for i in chains)}); processes see it at their next first WSAStartup")
    return 0


def _catalog_remove(args: argparse.Namespace) -> int:
    from wsemu.spi import wsc
    wsc.remove_lsp(args.name)
    print(f"wsemu: removed LSP {args.name!r}")
    return 0


def _catalog_order(args: argparse.Namespace) -> int:
    from wsemu.spi import wsc
    wsc.WSCWriteProviderOrder(args.ids)
    print(f"wsemu: catalog order is now {' '.join(map(str, args.ids))}")
    return 0


def _catalog_reset(args: argparse.Namespace) -> int:
    store = catalog.CatalogStore()
    fresh = store.reset()
    print(f"wsemu: catalog reset to its {len(fresh.entries)} default entries in {store.path}")
    return 0


def _broker(args: argparse.Namespace) -> int:
    from wsemu.broker import server
    argv = ["--verbose"] if args.verbose else []
    if args.idle_exit is not None:
        argv += ["--idle-exit", str(args.idle_exit)]
    return server.main(argv)


def _broker_status(args: argparse.Namespace) -> int:
    from wsemu.broker import protocol
    from wsemu.broker.client import client
    report = client().request(protocol.Status()).report
    print(f"wsemu broker pid {report['broker_pid']}, {report['clients']} connected client(s)")
    deposits = report["deposits"]
    print(f"outstanding deposits: {report.get('deposit_count', len(deposits))}"
          + (f" (first {len(deposits)} listed)" if len(deposits) < report.get("deposit_count", 0) else ""))
    for d in deposits:
        print(f"  token {d['token']:#010x}  socket inode {d['inode']}  from pid {d['source_pid']}"
              f" for pid {d['target_pid']}  uid {d['uid']}  waiting {d['age_s']:.1f} s  ({d['held_by']})")
    shared = report["shared"]
    print(f"shared sockets: {report.get('shared_count', len(shared))}"
          + (f" (first {len(shared)} listed)" if len(shared) < report.get("shared_count", 0) else ""))
    for s in shared:
        print(f"  socket inode {s['inode']}  held by pids {', '.join(map(str, s['holders']))}")
    if report.get("unlisted_count"):
        print(f"holds beyond the ledgers' room (counted, not listed): {report['unlisted_count']}")
    return 0


# --------------------------------------------------------------------------------------
# wsemu run -- CMD...
# --------------------------------------------------------------------------------------
SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_site")   # sitecustomize.py


def c_face_environment(env: dict[str, str]) -> dict[str, str]:
    """The variables a C program started by ``wsemu run`` needs to load libwsemu.so: its
    directory on LD_LIBRARY_PATH (for a program linked without the rpath ``wsemu config
    --libs`` gives). Its embedded interpreter finds wsemu through the paths file written next
    to the library (``c_face_paths``) and the PYTHONPATH ``run_environment`` sets."""
    old = env.get("LD_LIBRARY_PATH", "")
    return {"LD_LIBRARY_PATH": LIB_DIR + (":" + old if old else "")}


# --------------------------------------------------------------------------------------
# wsemu config --cflags | --libs
# --------------------------------------------------------------------------------------
LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
INCLUDE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "native", "include")


def c_face_paths() -> str:
    """Record, next to libwsemu.so, where this interpreter imports wsemu and its dependencies
    from: the library's embedded interpreter puts them on its path before it starts (a
    program built against libwsemu then runs with no environment of its own)."""
    path = os.path.join(LIB_DIR, "libwsemu.so.paths")
    roots = ":".join(_python_import_roots())
    try:
        with open(path) as file:
            if file.read() == roots:
                return path
    except OSError:
        pass
    with open(path + ".tmp", "w") as file:
        file.write(roots)
    os.replace(path + ".tmp", path)
    return path


def _config(args: argparse.Namespace) -> int:
    if not os.path.exists(os.path.join(LIB_DIR, "libwsemu.so")):
        print(f"wsemu: {LIB_DIR}/libwsemu.so is missing: reinstall the package (pip install -e .)",
              file=sys.stderr)
        return 1
    c_face_paths()
    flags = []
    if args.cflags:
        # WCHAR is 16-bit: L"" literals must be UTF-16 as on Windows.
        flags.append(f"-I{INCLUDE_DIR} -fshort-wchar")
    if args.libs:
        flags.append(f"-L{LIB_DIR} -lwsemu -Wl,-rpath,{LIB_DIR}")
    print(" ".join(flags))
    return 0


def _python_import_roots() -> list[str]:
    """The sys.path entries this interpreter imports wsemu and its dependencies from."""
    import importlib.util
    roots: list[str] = []
    for name in ("wsemu", "cffi", "_cffi_backend", "pyroute2"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not os.path.isabs(spec.origin):
            continue
        root = os.path.dirname(spec.origin)
        if spec.submodule_search_locations is not None:      # a package: its parent directory
            root = os.path.dirname(root)
        if root not in roots:
            roots.append(root)
    return roots


def run_environment(base: dict[str, str] | os._Environ) -> dict[str, str]:
    """The environment ``wsemu run`` gives its program (``base`` is not modified):

    * PYTHONPATH starts with SITE_DIR, whose sitecustomize installs socket.share/fromshare
      and then runs the sitecustomize Python would have found otherwise (see its docstring);
    * WSEMU_PYTHON_ROOTS / WSEMU_PYTHON_TAG let a Python without wsemu installed, of the same
      version, load it from here;
    * WSEMU_RUNTIME_DIR pins the broker that ``run`` made sure of, whatever the program does
      to XDG_RUNTIME_DIR;
    * plus c_face_environment().
    """
    from wsemu import runtime
    env = dict(base)
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
              if p and os.path.realpath(p) != os.path.realpath(SITE_DIR)]
    env["PYTHONPATH"] = os.pathsep.join([SITE_DIR] + others)   # no empty entry: that would mean cwd
    env["WSEMU_PYTHON_ROOTS"] = os.pathsep.join(_python_import_roots())
    env["WSEMU_PYTHON_TAG"] = sys.implementation.cache_tag or ""
    env["WSEMU_RUNTIME_DIR"] = str(runtime.runtime_dir())
    env.update(c_face_environment(env))
    return env


def _run(args: argparse.Namespace) -> int:
    command = list(args.command_line)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        args.run_parser.error("a command is required: wsemu run -- CMD [ARG...]")
    from wsemu.broker import protocol
    from wsemu.broker.client import client
    client().request(protocol.Ping())          # the broker is up (started if need be), or WSAError
    env = run_environment(os.environ)
    from wsemu.lsp import session
    env.update(session.environment(args.trace, args.faults))
    client().close()
    # exec: the program is this process — same pid, its exit status is ours, signals reach it
    # directly. Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across
    # exec: give the program the default dispositions a shell would.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        print(f"wsemu: {command[0]}: command not found", file=sys.stderr)
        return 127
    except OSError as exc:                      # not executable, a directory, ...
        print(f"wsemu: {command[0]}: {exc.strerror}", file=sys.stderr)
        return 126


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsemu", description="Winsock service-provider emulator for Linux.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="a Winsock client and server in two processes, narrated")
    demo.set_defaults(func=_demo)

    broker = commands.add_parser("broker", help="run the broker in the foreground; `status` lists what it holds")
    broker.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                        help="exit after this long without clients or deposits")
    broker.add_argument("-v", "--verbose", action="store_true")
    broker.set_defaults(func=_broker)
    broker_commands = broker.add_subparsers(dest="broker_command", metavar="ACTION")
    broker_commands.add_parser("status", help="outstanding deposits and shared sockets").set_defaults(func=_broker_status)

    cat = commands.add_parser("catalog", help="the protocol catalog (like `netsh winsock show catalog`)")
    cat_commands = cat.add_subparsers(dest="catalog_command", metavar="ACTION")
    cat_commands.add_parser("list", help="print every catalog entry").set_defaults(func=_catalog_list)
    cat_commands.add_parser("reset", help="restore the default catalog").set_defaults(func=_catalog_reset)
    install = cat_commands.add_parser(
        "install", help="install a layered service provider (LSP) over catalog entries",
        description="Install an LSP as Windows' LSP installer does: a hidden layered entry and one "
                    "chain entry per target, the chains first in the catalog order.")
    install.add_argument("--lsp", required=True, metavar="NAME",
                         help=f"the LSP's name ({', '.join(SHIPPED_LSP_PATHS)} are shipped with wsemu)")
    install.add_argument("--over", required=True, metavar="TARGETS",
                         help="comma-separated: tcp4, tcp6, udp4, udp6, raw4, raw6 (the base entries) or "
                              "catalog IDs (another LSP's chain entries to stack on it)")
    install.add_argument("--path", metavar="PATH",
                         help="the provider, python:MODULE:CLASS (default for a shipped LSP: its own)")
    install.add_argument("--ifs", action="store_true", help="the LSP's sockets are the base provider's handles")
    install.set_defaults(func=_catalog_install)
    remove = cat_commands.add_parser("remove", help="remove an LSP (by name or GUID)")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=_catalog_remove)
    order = cat_commands.add_parser("order", help="set the catalog order (every catalog ID, once each)")
    order.add_argument("ids", nargs="+", type=int, metavar="ID")
    order.set_defaults(func=_catalog_order)
    cat.set_defaults(func=_catalog_list)

    config = commands.add_parser("config", help="compiler and linker flags for Windows socket C code",
                                 description="cc $(wsemu config --cflags) prog.c $(wsemu config --libs)")
    config.add_argument("--cflags", action="store_true", help="the include directory of <winsock2.h>")
    config.add_argument("--libs", action="store_true", help="link with libwsemu (with its rpath)")
    config.set_defaults(func=_config)

    run = commands.add_parser(
        "run", help="run a program with wsemu in place (socket.share/fromshare for Python)",
        usage="%(prog)s [--trace FILE] [--faults RULES] -- CMD [ARG...]",
        description="Run CMD with wsemu in place: the broker running, socket.share and "
                    "socket.fromshare available to every Python program it starts (through a "
                    "sitecustomize that chains to any other), the environment for the C face. "
                    "CMD replaces wsemu (exec): same pid, its exit status, its signals.")
    run.add_argument("--trace", metavar="FILE",
                     help="trace every Winsock SPI call of the program, one JSON line each, to FILE")
    run.add_argument("--faults", metavar="RULES",
                     help="inject the faults the JSON rule file RULES describes")
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="CMD [ARG...]")
    run.set_defaults(func=_run, run_parser=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except WSAError as err:
        # e.g. a corrupt catalog file: the message names the file and the repair.
        print(f"wsemu: {err.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout was closed by the reader (e.g. `wsemu catalog list | head`).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
