"""``dualclass``: the one command operators and developers type.

This module is the composition root: it reads the first word and hands the rest
of the command line to ``main(argv)`` of the package that owns the job. Each
package is imported only when its command runs (inside the function below), so
``dualclass match`` does not load aiortc, and ``dualclass node`` on a classroom
box with only ``dualclass[node]`` installed never touches the hub's libraries.

=============  =========================================  ==========================  ======
command        what                                       owner                       extra
=============  =========================================  ==========================  ======
stack          local Mosquitto + Redis on free ports      ``broker.stack.main``       hub
hub            the hub daemon                             ``hub.server.main``         hub
node           a classroom node daemon                    ``classroom_node.main.main`` node
demo           stack + hub + nodes running a lesson       ``simulators.demo.main``    hub
sim            load simulator, faults, capacity search    ``simulators.sim.command``  hub
match          lead/partner matching from CSV             ``matching.command.main``   hub
report         coverage reports                           ``ledger.command.main``     hub
import         schools/classrooms/teachers from CSV       ``registry.command.main``   hub
=============  =========================================  ==========================  ======

A command whose libraries are not installed exits with status 2 and says which
extra to install, instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "main"]

#: Exit status when the command's libraries are missing (and for usage errors).
EXIT_USAGE = 2


def _stack(argv: list[str]) -> int:
    from broker.stack import main as run

    return run(argv)


def _hub(argv: list[str]) -> int:
    from hub.server import main as run

    return run(argv)


def _node(argv: list[str]) -> int:
    from classroom_node.main import main as run

    return run(argv)


def _demo(argv: list[str]) -> int:
    from simulators.demo import main as run

    return run(argv)


def _sim(argv: list[str]) -> int:
    from simulators.sim.command import main as run

    return run(argv)


def _match(argv: list[str]) -> int:
    from matching.command import main as run

    return run(argv)


def _report(argv: list[str]) -> int:
    from ledger.command import main as run

    return run(argv)


def _import(argv: list[str]) -> int:
    from registry.command import main as run

    return run(argv)


#: name -> (help, runner, the extra that brings its libraries)
COMMANDS: dict[str, tuple[str, Callable[[list[str]], int], str | None]] = {
    "stack": ("start/stop the local Mosquitto + Redis", _stack, "hub"),
    "hub": ("run the hub daemon", _hub, "hub"),
    "node": ("run a classroom node daemon", _node, "node"),
    "demo": ("run a scripted live lesson on the local stack", _demo, "hub"),
    "sim": ("load simulator: many lessons of real nodes, faults, capacity", _sim, "hub"),
    "match": ("pair lead offers with partner requests", _match, "hub"),
    "report": ("collaboration-coverage reports", _report, "hub"),
    "import": ("import schools/classrooms/teachers from CSV", _import, "hub"),
}

#: Our own packages: a missing one is a broken install, not a missing extra.
_OURS = {
    "broker",
    "classroom_node",
    "dualclass",
    "hub",
    "ledger",
    "matching",
    "protocols",
    "registry",
    "runtime",
    "simulators",
    "webrtc",
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name.ljust(width)}  {help_}" for name, (help_, _, _) in COMMANDS.items()]
    return "usage: dualclass COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print(_usage())
        return 0 if args and args[0] in ("-h", "--help") else EXIT_USAGE
    name = args[0]
    _, run, extra = COMMANDS[name]
    try:
        return run(args[1:])
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if extra is None or not missing or missing in _OURS:
            raise
        print(
            f"dualclass {name} needs the libraries of dualclass[{extra}] "
            f"(missing: {missing}); install them with: pip install 'dualclass[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
