"""A throwaway network namespace joined to ours by one veth pair (root only).

``Island`` is "a school": a namespace that has ``lo`` and one /30 link to this
namespace, nothing else (no default route), so a process inside reaches only the
address at our end of the link. The namespace belongs to a holder process
(``unshare --net sleep``) rather than a name under /var/run/netns, so nothing
is left behind if the test dies: killing the holder frees the namespace, and
its veth end goes with it, which deletes ours too. Names carry the issue number
and our pid (``dc11-<pid>-h``), as several test runs may share a machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Island", "island", "island_skip_reason"]


def island_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    return None


def _ip(*args: str, netns_pid: int | None = None) -> None:
    argv = ["ip", *args]
    if netns_pid is not None:
        argv = ["nsenter", "-t", str(netns_pid), "-n", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=10)


@dataclass
class Island:
    holder: subprocess.Popen[bytes]
    ours: str  # our end's address (what the island reaches)
    theirs: str  # the island's address
    link: str  # our veth's name

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` to run inside the island."""
        return ["nsenter", "-t", str(self.holder.pid), "-n", *argv]


@contextmanager
def island(tag: str = "s", *, prefix: str = "dc11", net: int = 211) -> Iterator[Island]:
    """``prefix`` and ``net`` (the second octet of its 10.x.y.0/30) keep islands of
    different tests, or several in one test, apart."""
    pid = os.getpid()
    link, peer = f"{prefix}-{pid % 100000}-{tag}h", f"{prefix}-{pid % 100000}-{tag}p"
    subnet = f"10.{net}.{pid % 250}"
    ours, theirs = f"{subnet}.1", f"{subnet}.2"
    holder = subprocess.Popen(
        ["unshare", "--net", "sleep", "600"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the holder has unshared once its own /proc/<pid>/ns/net differs from ours
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            if holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare --net did not start")
            time.sleep(0.01)
        _ip("link", "add", link, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", str(holder.pid))
        _ip("addr", "add", f"{ours}/30", "dev", link)
        _ip("link", "set", link, "up")
        _ip("link", "set", "lo", "up", netns_pid=holder.pid)
        _ip("addr", "add", f"{theirs}/30", "dev", peer, netns_pid=holder.pid)
        _ip("link", "set", peer, "up", netns_pid=holder.pid)
        yield Island(holder, ours, theirs, link)
    finally:
        holder.kill()
        holder.wait(10)
        subprocess.run(["ip", "link", "del", link], check=False, capture_output=True, timeout=10)
