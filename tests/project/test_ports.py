"""`make run`'s ports come from one place: WEB_PORT and FLOWER_PORT (the shell, else .env), and
the Procfile's web and Flower commands and FRONTEND_URL (pay links) follow them."""

from __future__ import annotations

import os
import subprocess

from tests.project.compose import BASE


def _ports(cwd, **shell: str) -> list[str]:
    env = {"PATH": os.environ["PATH"], **shell}
    script = f'set -euo pipefail; source "{BASE}/scripts/ports.sh"; echo $WEB_PORT $FLOWER_PORT $FRONTEND_URL'
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _procfile_command(name: str, **shell: str) -> str:
    line = next(ln for ln in (BASE / "Procfile").read_text().splitlines() if ln.startswith(f"{name}:"))
    command = line.split(":", 1)[1].strip()
    env = {"PATH": os.environ["PATH"], **shell}
    # scripts/supervise.py runs each command under /bin/sh, as here.
    done = subprocess.run(["/bin/sh", "-c", f"echo {command}"], env=env, capture_output=True, text=True)
    return done.stdout


def test_ports_and_the_pay_link_url_follow_web_port_from_env_file(tmp_path):
    assert _ports(tmp_path) == ["8000", "5555", "http://127.0.0.1:8000"]
    (tmp_path / ".env").write_text('WEB_PORT="8100"\nFLOWER_PORT=5600\n')
    assert _ports(tmp_path) == ["8100", "5600", "http://127.0.0.1:8100"]
    assert _ports(tmp_path, WEB_PORT="8200") == ["8200", "5600", "http://127.0.0.1:8200"]  # the shell wins
    assert _ports(tmp_path, FRONTEND_URL="https://tasks.example.com")[2] == "https://tasks.example.com"


def test_the_procfile_serves_on_those_ports():
    assert "runserver 127.0.0.1:8100 " in _procfile_command("web", WEB_PORT="8100")
    assert "--port=5600" in _procfile_command("flower", FLOWER_PORT="5600")
