"""The hub daemon: one process (or several replicas) that every lesson goes through.

Core (this folder): ``config`` (``HubConfig``, a ``runtime.DaemonSettings``),
``keys`` (every Redis key the hub uses), ``store`` (Redis: session logs, the
sequencing Lua script, nodes and sessions), ``sessions`` (``SessionSpec``),
``sequencer`` (per-session runtime around ``protocols.lesson.LessonMachine``),
``uplinks`` (routing of node uplinks and presence), ``resync``, ``presence``,
``brokersync`` (broker password/ACL files), ``metrics``, ``tokens`` (join tokens),
``ledgerfeed`` (feeds the ``ledger`` package), ``core`` (``HubCore``: the shared
state and operations), ``server`` (``Hub``: start-up on an ``AsyncExitStack``,
main loop, drain; ``run``/``main``). Subpackages: ``api/`` (FastAPI routers),
``signalling/`` (``/ws/signal``), ``media/`` (the forwarding unit), ``scheduling/``
(timetable, joins and leaves), ``ops/`` (operator dashboard) and the others listed
in ``docs/ARCHITECTURE.md``.

May import: protocols, runtime, broker, webrtc, matching, ledger, registry, i18n and
the hub's libraries (``tests/test_layout.py`` checks it). Pure decision logic
(lesson rules, routing, timetable) stays apart from the I/O around it.
"""
