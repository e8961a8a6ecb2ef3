"""The `wsemu` command."""
from __future__ import annotations

import argparse
import os
import sys

from wsemu import catalog
from wsemu.errors import WSAError


def _demo(args: argparse.Namespace) -> int:
    from wsemu import demo
    return demo.main()


def _catalog_list(args: argparse.Namespace) -> int:
    print(catalog.format_listing(catalog.CatalogStore().load()), end="")
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
    print(f"outstanding deposits: {len(deposits)}")
    for d in deposits:
        print(f"  token {d['token']:#010x}  socket inode {d['inode']}  from pid {d['source_pid']}"
              f" for pid {d['target_pid']}  uid {d['uid']}  waiting {d['age_s']:.1f} s")
    shared = report["shared"]
    print(f"shared sockets: {len(shared)}")
    for s in shared:
        print(f"  socket inode {s['inode']}  held by pids {', '.join(map(str, s['holders']))}")
    return 0


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
    cat.set_defaults(func=_catalog_list)
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
