"""`make run`'s process supervisor: the Procfile's processes, each restarted when it dies.

honcho (what `make run` used before) stops every process when one exits: one crashed worker took
web, beat, Flower and the local AWS down with it. Here a process that exits is started again
after a back-off (1 s, doubling to 30 s while it keeps dying within a minute of its start; logged
each time), and the others keep running. One Ctrl-C (SIGINT) or SIGTERM stops them all: each is
sent SIGTERM, and what is still alive after SUPERVISE_STOP_TIMEOUT seconds is killed; a second
Ctrl-C kills at once.

    python scripts/supervise.py [-f Procfile]

Each line of the Procfile is `name: command`; the command runs under /bin/sh (so `${WEB_PORT}`
expands) in its own process group, its output prefixed with its name.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BACKOFF_BASE = float(os.environ.get("SUPERVISE_BACKOFF_BASE", "1"))
BACKOFF_MAX = float(os.environ.get("SUPERVISE_BACKOFF_MAX", "30"))
# A process that ran this long before it died starts its back-off from the beginning again.
STABLE_AFTER = float(os.environ.get("SUPERVISE_STABLE_AFTER", "60"))
STOP_TIMEOUT = float(os.environ.get("SUPERVISE_STOP_TIMEOUT", "10"))

_print_lock = threading.Lock()


def say(name: str, text: str, width: int = 10) -> None:
    with _print_lock:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{width}} | {text}\n")
        sys.stdout.flush()


@dataclass
class Proc:
    name: str
    command: str
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive deaths within STABLE_AFTER of a start
    restart_at: float | None = None
    restarts: int = 0
    readers: list[threading.Thread] = field(default_factory=list)


def procfile_read(path: Path) -> list[Proc]:
    procs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, command = line.split(":", 1)
        procs.append(Proc(name=name.strip(), command=command.strip()))
    if not procs:
        raise SystemExit(f"supervise: {path} names no process")
    return procs


def _pump(proc: Proc, stream: IO[bytes], width: int) -> None:
    for raw in iter(stream.readline, b""):
        say(proc.name, raw.decode(errors="replace").rstrip("\n"), width)
    stream.close()


def start(proc: Proc, width: int) -> None:
    proc.popen = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {proc.command}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops each in turn
    )
    proc.started_at, proc.restart_at = time.monotonic(), None
    assert proc.popen.stdout is not None
    say("supervise", f"{proc.name} started (pid {proc.popen.pid})", width)
    reader = threading.Thread(target=_pump, args=(proc, proc.popen.stdout, width), daemon=True)
    reader.start()
    proc.readers = [reader]


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def backoff(proc: Proc) -> float:
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(proc.failures - 1, 0))


class Supervisor:
    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs
        self.width = max(len("supervise"), *(len(p.name) for p in procs))
        self.stopping = False
        self.interrupts = 0

    def on_signal(self, signum: int, frame: object) -> None:
        self.interrupts += 1
        if self.interrupts > 1:
            say("supervise", "second interrupt: killing every process", self.width)
            self.signal_all(signal.SIGKILL, group=True)
        self.stopping = True

    def signal_all(self, sig: int, *, group: bool) -> None:
        for proc in self.procs:
            if proc.popen is not None and proc.popen.poll() is None:
                try:
                    if group:
                        os.killpg(proc.popen.pid, sig)
                    else:
                        proc.popen.send_signal(sig)
                except ProcessLookupError:
                    pass

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        for proc in self.procs:
            start(proc, self.width)
        while not self.stopping:
            now = time.monotonic()
            for proc in self.procs:
                if proc.restart_at is not None:
                    if now >= proc.restart_at:
                        proc.restarts += 1
                        start(proc, self.width)
                    continue
                assert proc.popen is not None
                code = proc.popen.poll()
                if code is None:
                    continue
                ran = now - proc.started_at
                try:  # what it left behind in its group (a killed Celery parent's pool children)
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.failures = proc.failures + 1 if ran < STABLE_AFTER else 1
                delay = backoff(proc)
                proc.restart_at = now + delay
                say(
                    "supervise",
                    f"{proc.name} (pid {proc.popen.pid}) {_how(code)} after {ran:.1f}s; "
                    f"restarting in {delay:g}s (back-off, restart #{proc.restarts + 1}); "
                    "the others keep running",
                    self.width,
                )
            time.sleep(0.1)
        return self.stop()

    def stop(self) -> int:
        say("supervise", "stopping every process (SIGTERM)", self.width)
        self.signal_all(signal.SIGTERM, group=False)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(
            p.popen is not None and p.popen.poll() is None for p in self.procs
        ):
            time.sleep(0.1)
        # Whatever is left (and anything a process started in its group) is killed.
        self.signal_all(signal.SIGKILL, group=True)
        for proc in self.procs:
            if proc.popen is not None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.popen.wait()
                for reader in proc.readers:
                    reader.join(timeout=2)
        say("supervise", "all processes stopped", self.width)
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-f", "--procfile", default="Procfile", type=Path)
    args = parser.parse_args()
    return Supervisor(procfile_read(args.procfile)).run()


if __name__ == "__main__":
    sys.exit(main())
