"""``dualclass sim``: the operator's load simulator.

Many sessions of real classroom nodes (``classroom_node.ClassroomNode``, each with
its own MQTT connection, credentials and journal) spread over worker processes,
driven by a seeded lesson mix, with faults on a schedule, a live progress view and
a report (terminal, JSON, HTML). See ``docs/simulator.md``.

Modules: ``plan`` (pure: who is where, what each lesson sends), ``faultplan``
(pure: the fault schedule), ``accounting`` (pure: merging worker results into the
report), ``worker`` (a process of nodes), ``deploy`` (the hub being driven: local
stack or an existing deployment), ``runner`` (one run), ``capacity`` (the search),
``render`` (terminal, JSON, HTML), ``command`` (the CLI).
"""
