"""`make run`'s supervisor (scripts/supervise.py), with real processes: one that dies is
started again after a logged back-off while the others keep running, and one SIGINT stops all."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.project.compose import BASE

CHILD = f"{sys.executable} -c \"import os, time; print('up', os.getpid(), flush=True); time.sleep(600)\""


class Output:
    """The supervisor's stdout, line by line, waited on by content (never by time)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.used: set[int] = set()
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first line not matched before that matches (lines from processes interleave)."""
        regex = re.compile(pattern)
        for i, line in enumerate(self.seen):
            if i not in self.used and (m := regex.search(line)):
                self.used.add(i)
                return m
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; saw:\n" + "\n".join(self.seen)) from None
            self.seen.append(line)
            if m := regex.search(line):
                self.used.add(len(self.seen) - 1)
                return m


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by the supervisor) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _stop(proc: subprocess.Popen[str]) -> None:
    """After a failed assertion too: SIGINT, so the supervisor stops its children."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def supervisor(tmp_path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"# two processes\nalpha: {CHILD}\nbeta: {CHILD}\n")
    env = {**os.environ, "SUPERVISE_BACKOFF_BASE": "0.5", "SUPERVISE_STOP_TIMEOUT": "10"}
    proc = subprocess.Popen(
        [sys.executable, str(BASE / "scripts" / "supervise.py"), "-f", str(procfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        yield proc, Output(proc)
    finally:
        _stop(proc)


def test_a_killed_process_comes_back_and_the_others_keep_running(supervisor):
    proc, out = supervisor
    pids = {}
    for _ in range(2):
        m = out.wait_for(r"(alpha|beta)\s+\| up (\d+)")
        pids[m.group(1)] = int(m.group(2))

    os.kill(pids["alpha"], signal.SIGKILL)
    note = out.wait_for(r"alpha \(pid \d+\) killed by SIGKILL .*restarting in ([\d.]+)s \(back-off")
    assert float(note.group(1)) > 0
    again = out.wait_for(r"alpha\s+\| up (\d+)")
    new_alpha = int(again.group(1))
    assert new_alpha != pids["alpha"] and _alive(new_alpha)
    assert _alive(pids["beta"])  # untouched: the same process as before
    assert proc.poll() is None

    # Dying again soon after its restart: a longer wait (the back-off grows).
    os.kill(new_alpha, signal.SIGKILL)
    second = out.wait_for(r"alpha \(pid \d+\) killed by SIGKILL .*restarting in ([\d.]+)s")
    assert float(second.group(1)) > float(note.group(1))
    third = int(out.wait_for(r"alpha\s+\| up (\d+)").group(1))

    proc.send_signal(signal.SIGINT)  # one Ctrl-C
    assert proc.wait(timeout=60) == 0
    assert not _alive(third) and not _alive(pids["beta"])
    out.wait_for(r"supervise\s+\| all processes stopped")
    assert sum(bool(re.search(r"beta\s+\| up", line)) for line in out.seen) == 1  # never restarted
    assert not any(re.search(r"beta \(pid \d+\) (killed|exited)", line) for line in out.seen)


def test_what_a_dead_process_left_in_its_group_is_stopped_before_it_restarts(tmp_path):
    """A killed Celery parent leaves its pool children behind; they must not outlive it."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("gamma: /bin/sh -c 'sleep 600 & echo child $!; wait'\n")
    proc = subprocess.Popen(
        [sys.executable, str(BASE / "scripts" / "supervise.py"), "-f", str(procfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "SUPERVISE_BACKOFF_BASE": "0.5"},
    )
    try:
        out = Output(proc)
        parent = int(out.wait_for(r"gamma started \(pid (\d+)\)").group(1))
        child = int(out.wait_for(r"gamma\s+\| child (\d+)").group(1))
        os.kill(parent, signal.SIGKILL)
        out.wait_for(r"gamma \(pid \d+\) killed by SIGKILL")
        out.wait_for(r"gamma\s+\| child (\d+)")  # restarted
        assert not _alive(child)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        _stop(proc)
