"""``protocols`` does no I/O: it imports with networking libraries unavailable."""

from __future__ import annotations

import subprocess
import sys

BLOCKER = r"""
import sys, importlib.abc
BLOCKED = ("asyncio", "aiomqtt", "paho", "redis", "aiortc", "aioice", "av",
           "uvloop", "fastapi", "httpx", "websockets", "uvicorn")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
for mod in list(sys.modules):
    if mod.split(".")[0] in BLOCKED:
        del sys.modules[mod]
import protocols, protocols.codec, protocols.lesson, protocols.ordering, protocols.topics
from protocols.messages import SlideShow
msg = SlideShow(id=protocols.new_id(), session="s", body={"index": 1})
assert protocols.decode(protocols.encode(msg)) == msg
print("pure")
"""


def test_protocols_imports_without_networking() -> None:
    out = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pure"
