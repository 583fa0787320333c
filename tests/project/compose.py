"""docker-compose.yml as the containers would see it, run on this machine instead.

Read with PyYAML (merge keys `<<: *app` resolve there), interpolated as Compose does
(`${X}`, `${X:-d}`, `${X-d}`, `$$`; a variable with no value passes through from the shell or is
left unset), then pointed at loopback: the compose services postgres, redis and moto become this
test run's PostgreSQL database, Redis database and moto server.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from django.db import connection

BASE = Path(__file__).resolve().parent.parent.parent
COMPOSE = BASE / "docker-compose.yml"
VENV_BIN = Path(sys.executable).parent  # `python`, `gunicorn`, `celery` as in the image's PATH
# What an operator must give (README, the compose file's header); test-only values.
OPERATOR_ENV = {
    "SECRET_KEY": "compose-test-secret-key-compose-test-secret-key",
    "FIELD_ENCRYPTION_KEY": "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5ISE=",
    "FLOWER_BASIC_AUTH": "admin:compose-test",
}
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def app_services() -> dict[str, dict[str, Any]]:
    """The services built from this project's image (they carry its environment)."""
    return {name: svc for name, svc in services().items() if svc.get("image") == "tasksvc:latest"}


def interpolate(value: str, shell: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3) or ""
        if op == ":-":
            return shell.get(name) or default
        if op == "-":
            return shell[name] if name in shell else default
        return shell.get(name, "")

    return _VAR.sub(one, value)


def environment(svc: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    """The container's environment from the service's `environment:` and the operator's shell."""
    out: dict[str, str] = {}
    for name, value in (svc.get("environment") or {}).items():
        if value is None:
            if name in shell:
                out[name] = shell[name]
        else:
            out[name] = interpolate(str(value), shell)
    return out


def on_loopback(env: dict[str, str], *, moto: str, var_dir: Path) -> dict[str, str]:
    """The compose stack's own hosts replaced by this machine's services; checks that compose
    points at them first (postgres, redis and moto are service names on the compose network)."""
    env = dict(env)
    assert urlparse(env["DATABASE_URL"]).hostname == "postgres", env["DATABASE_URL"]
    assert urlparse(env["REDIS_URL"]).hostname == "redis", env["REDIS_URL"]
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    if urlparse(env.get("AWS_ENDPOINT_URL") or "").hostname == "moto":
        env["AWS_ENDPOINT_URL"] = moto
    env["VAR_DIR"] = str(var_dir)  # the image's /app/var
    # As in the image: its PATH (here the venv's), no home with AWS profiles, nothing else.
    env["PATH"] = f"{VENV_BIN}:/usr/bin:/bin"
    env["HOME"] = str(var_dir)
    return env


def command(svc: dict[str, Any]) -> list[str]:
    cmd = svc["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def run(
    svc: dict[str, Any], env: dict[str, str], *, args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args or command(svc), cwd=BASE, env=env, capture_output=True, text=True, timeout=240
    )
