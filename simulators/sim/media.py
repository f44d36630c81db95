"""``--media``: the lead of each session sends real video through the hub's relay.

Every classroom of the session joins the session's media with its node
credentials (``classroom_node.media.runner.NodeMedia``); the lead sends a test
pattern. Decoding 1,000 streams would measure the simulator rather than the hub,
so only the first partner of each session decodes (proving the stream); the others
receive the stream and count its frames without decoding it
(``simulators.sim.framecount``).
"""

from __future__ import annotations

from typing import Any

from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from classroom_node.node import ClassroomNode
from simulators.sim.plan import SessionPlan

__all__ = ["start_session_media"]


async def start_session_media(
    nodes: dict[str, ClassroomNode], plan: SessionPlan, hub_url: str, *, fps: int
) -> list[Any]:
    """Start the media of one session's classrooms; returns their runners."""
    runners: list[Any] = []
    for node in nodes.values():
        settings = MediaSettings(
            enabled=True,
            hub_url=hub_url,
            ice_host_addresses=("127.0.0.1",),
            fps=fps,
            stats_interval_s=1.0,
        )
        runner = NodeMedia(node, settings)
        await runner.start()
        runners.append(runner)
    return runners
