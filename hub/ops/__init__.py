"""The operator dashboard's logic: what ``/ops`` and ``/api/ops/*`` show.

``overview`` (pure) turns what the hub knows into the dashboard document;
``alerts`` (pure) decides which conditions are alerts and since when; ``hubstats``
(pure) turns metric samples into rates and percentiles; ``patch`` (pure) makes the
small JSON merge patches the live page receives; ``signin`` (pure) issues and checks
the session cookie; ``feed`` (I/O) samples the hub once a tick and fans the patches
out to the open pages. May import ``protocols`` and the hub's own modules.
"""
