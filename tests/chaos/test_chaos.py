"""The chaos suite: hub, Mosquitto, Redis and six classroom nodes as separate
processes, steady traffic through the nodes' local APIs, and every fault in turn
(SIGKILL/SIGTERM of the hub, SIGKILL of Mosquitto and of Redis, SIGKILL and
SIGSTOP of a node, a node's network cut while it keeps submitting, a hub SIGKILL
while behind with burst traffic and with Redis frozen).

After all of them: every event a node answered 202 for is in the session log
exactly once, and every node applied seqs 1..N of that log once each and in
order. The outages here are short (the node is stopped for 4 s, cut for 8 s) to
fit the test budget; ``bench/chaos.py`` runs the same with 30 s and 60 s and
reports recovery times, which are figures, not assertions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.chaos import FAULTS, ChaosRun, Durations

pytestmark = pytest.mark.timeout(400)


async def test_nothing_accepted_is_lost_under_every_fault(tmp_path: Path) -> None:
    durations = Durations(stop_s=4.0, cut_s=8.0, before_s=1.0, recovery_timeout_s=90.0)
    async with ChaosRun(tmp_path, partners=5, rate_per_node=3.0, durations=durations) as run:
        for fault in FAULTS:
            await run.fault(fault)
        summary = await run.finish()
    print(json.dumps(summary, indent=1))  # the figures, for whoever reads the log
    faults = {f["fault"]: f for f in summary["faults"]}
    assert list(faults) == list(FAULTS)
    for name, report in faults.items():
        assert report["submitted"] > 0, f"{name}: no traffic during the fault"
        assert report["recovery_s"] is not None, f"{name}: never recovered"
        assert (report["lost"], report["duplicated"]) == (0, 0), report
    assert summary["lost_total"] == 0 and summary["duplicated_total"] == 0
    assert summary["log_contiguous"]
    assert all(summary["nodes_applied_in_order"].values()), summary["nodes_applied_in_order"]
