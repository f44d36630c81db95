"""The hub service.

Core daemon (this folder): ``config`` (one typed ``HubConfig``), ``store`` (Redis:
session logs, the sequencing Lua script, registries), ``sessions`` (``SessionSpec``),
``sequencer`` (per-session runtime around ``protocols.lesson.LessonMachine``),
``uplinks`` (routing of node uplinks and presence), ``resync``, ``presence``,
``brokersync`` (broker password/ACL files), ``metrics``, ``core`` (``HubCore``: the
shared state and operations), ``server`` (``Hub``: startup, main loop, shutdown;
``run``/``main``), ``api/`` (FastAPI routers). Subpackages ``matching/``, ``media/``
and ``ledger/`` hold their own parts.

May import: protocols, broker, and the libraries in pyproject. Pure decision logic
(lesson rules, matching, aggregation) stays apart from the I/O around it.
"""
