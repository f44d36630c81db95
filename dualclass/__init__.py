"""The composition root: the ``dualclass`` command and nothing else.

``dualclass.cli`` reads the first word of the command line and hands the rest to
the package that owns the job (``main(argv)`` of hub, classroom_node, simulators,
matching, ledger, registry, broker), importing it only then. No component imports
this package.
"""
