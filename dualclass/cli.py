"""``dualclass``: the one command operators and developers type.

This module is the composition root: it only parses the first word and hands the
rest to the package that owns the job, importing it lazily so that ``dualclass
match`` does not load aiortc and ``dualclass node`` does not load the hub:

=============  =========================================  =========================
command        what                                       owner
=============  =========================================  =========================
stack up|down  local Mosquitto + Redis on free ports      ``broker.stack``
hub            the hub daemon                             ``hub.server``
node           a classroom node daemon                    ``classroom_node.main``
demo           stack + hub + nodes running a lesson       ``simulators.demo``
sim            load simulator: many lessons, faults       ``simulators.sim.command``
match          lead/partner matching from CSV             ``matching.command``
report         coverage reports                           ``ledger.command``
=============  =========================================  =========================
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _delegate(module: str, func: str = "main") -> Callable[[list[str]], int]:
    """A runner that passes the remaining argv to ``module.func(argv)``."""

    def run(argv: list[str]) -> int:
        target: Callable[[list[str]], int] = getattr(importlib.import_module(module), func)
        return int(target(argv) or 0)

    return run


def _stack(argv: list[str]) -> int:
    from broker.exceptions import LaunchError
    from broker.stack import DEFAULT_STACK_DIR, stack_down, stack_status, stack_up

    parser = argparse.ArgumentParser(prog="dualclass stack", description=_stack.__doc__)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_STACK_DIR, help="state directory")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="MQTT over TLS only, and HTTPS certificates for the hub, from a throwaway local CA",
    )
    args = parser.parse_args(argv)
    if args.action == "up":
        try:
            info = stack_up(args.dir, tls=args.tls)
        except (LaunchError, RuntimeError) as exc:
            print(f"dualclass stack: {exc}", file=sys.stderr)
            return 1
        started = ", ".join(info.started) if info.started else "nothing (all running)"
        print(f"started    {started}")
        scheme = "mqtts" if info.tls else "mqtt"
        print(f"mosquitto  {scheme}://127.0.0.1:{info.mqtt_port}")
        if info.ca_file is not None:
            print(f"local CA   {info.ca_file}  (trust it: mqtt_ca_file, curl --cacert)")
        print(f"redis      {info.data['redis']['url'].split('@')[-1]}")
        print(f"stack file {info.path}  (credentials; mode 0600)")
        return 0
    if args.action == "down":
        stopped = stack_down(args.dir)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    try:
        status = stack_status(args.dir)
    except FileNotFoundError:
        print("no stack here; run `dualclass stack up`")
        return 1
    for name, item in status.items():
        state = "alive" if item["alive"] else "dead"
        print(f"{name:<10} {state:<6} pid {item['pid'] or '-'}  port {item['port']}")
    return 0 if all(item["alive"] for item in status.values()) else 3


_stack.__doc__ = "Start, stop or show the local Mosquitto + Redis stack."


def _with_args(name: str, module: str) -> Callable[[list[str]], int]:
    """For modules exposing ``add_arguments(parser)`` + ``main(args: Namespace)``."""

    def run(argv: list[str]) -> int:
        mod: Any = importlib.import_module(module)
        parser = argparse.ArgumentParser(prog=f"dualclass {name}")
        mod.add_arguments(parser)
        return int(mod.main(parser.parse_args(argv)) or 0)

    return run


COMMANDS: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "stack": ("start/stop the local Mosquitto + Redis", _stack),
    "hub": ("run the hub daemon", _delegate("hub.server")),
    "node": ("run a classroom node daemon", _delegate("classroom_node.main")),
    "demo": ("run a scripted live lesson on the local stack", _delegate("simulators.demo")),
    "sim": (
        "load simulator: many lessons of real nodes, faults, capacity",
        _with_args("sim", "simulators.sim.command"),
    ),
    "match": (
        "pair lead offers with partner requests",
        _with_args("match", "matching.command"),
    ),
    "report": ("collaboration-coverage reports", _with_args("report", "ledger.command")),
    "import": (
        "import schools/classrooms/teachers from CSV",
        _with_args("import", "registry.command"),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        width = max(len(name) for name in COMMANDS)
        lines = [f"  {name.ljust(width)}  {help_}" for name, (help_, _) in COMMANDS.items()]
        print("usage: dualclass COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines))
        return 0 if args and args[0] in ("-h", "--help") else 2
    _, run = COMMANDS[args[0]]
    return run(args[1:])


if __name__ == "__main__":
    sys.exit(main())
