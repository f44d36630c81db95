"""``dualclass demo --keep`` keeps serving with no terminal attached (``make demo`` run
by a script), and ``kill`` (SIGTERM) then takes its broker, Redis and hub down too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split()
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_keep_serves_without_a_tty_until_sigterm_stops_everything(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dualclass.cli", "demo", "--keep", "--duration", "2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    started: set[int] = set()
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            printed.append(line)
            if "stays up" in line or time.monotonic() > deadline:
                break
        assert "SIGTERM" in printed[-1], printed  # it says how to stop it
        hub = next(line.split()[1] for line in printed if line.lstrip().startswith("hub "))
        # the lesson is over and nobody is at a terminal: the links still answer
        time.sleep(2)
        assert proc.poll() is None, "".join(printed)
        with urllib.request.urlopen(f"{hub}/healthz", timeout=10) as answer:
            assert answer.status == 200
        started = _descendants(proc.pid)
        assert started, "the demo started no broker, Redis or hub"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in started):
            time.sleep(0.2)
        assert not [p for p in started if _alive(p)], "left running after SIGTERM"
    finally:
        if proc.poll() is None:
            started |= _descendants(proc.pid)
            proc.kill()
            proc.wait(timeout=30)
        for pid in started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)  # what the demo left behind
