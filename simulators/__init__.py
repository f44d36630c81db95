"""Simulators: the demo, load generators and fault injection.

What lives here: ``script`` (pure: the scripted lesson as timed steps), ``stats``
(pure: percentiles and the run report), ``harness`` (I/O: a local stack, a hub
process, registered nodes and in-process ``ClassroomNode`` instances), ``demo``
(``dualclass demo``: live log, summary, JSON report).

May import: protocols, broker, classroom_node. The hub is driven only through its
process and its HTTP API, as an operator would.
"""
