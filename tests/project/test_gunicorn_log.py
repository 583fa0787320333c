"""The web service's access log (gunicorn, as docker-compose.yml runs it) never holds a pay-link
token, a Strava connect link or an OAuth code/state in clear."""

from __future__ import annotations

import http.client
import importlib.util
import subprocess
from collections.abc import Iterator

import pytest
from gunicorn.config import Config

from tests.helpers import free_port, wait_for
from tests.project import compose

pytestmark = pytest.mark.integration

SECRETS = {
    "/pay/PAYTOKENsecret123": "PAYTOKENsecret123",
    "/slack/oauth_redirect?code=SLACKCODE456&state=SLACKSTATE789": "SLACK",
    "/sync/strava/callback/?state=STRAVASTATE1&code=STRAVACODE2&scope=read,activity:read": "STRAVA",
    "/sync/strava/connect/CONNECTLINK999/": "CONNECTLINK999",
}


@pytest.fixture
def web(transactional_db, moto_server, tmp_path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """The compose web service's command and environment, bound to a loopback port."""
    svc = compose.services()["web"]
    port = free_port()
    env = compose.on_loopback(
        compose.environment(svc, compose.OPERATOR_ENV), moto=moto_server, var_dir=tmp_path
    )
    env |= {"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    proc = subprocess.Popen(
        compose.command(svc),
        cwd=compose.BASE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _get(port, "/healthz") == 200, timeout=60, message="gunicorn answering /healthz")
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Referer": f"http://127.0.0.1:{port}{path}"})
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def test_the_access_log_masks_tokens_and_oauth_codes(web):
    port, proc = web
    for path in SECRETS:
        assert _get(port, path) is not None
    assert _get(port, "/healthz?page=2") == 200
    proc.terminate()
    log = proc.communicate(timeout=30)[0]
    lines = [line for line in log.splitlines() if '"GET ' in line]
    assert len(lines) >= len(SECRETS) + 2, log  # every request is still logged
    for secret in ("PAYTOKENsecret123", "SLACKCODE456", "SLACKSTATE789", "STRAVASTATE1", "STRAVACODE2"):
        assert secret not in log
    assert "CONNECTLINK999" not in log
    assert "/pay/[token]" in log and "code=[filtered]" in log and "state=[filtered]" in log
    assert "/sync/strava/connect/[token]/" in log
    assert "/healthz?page=2" in log and "scope=read" in log  # what is not secret stays readable


def test_the_error_log_masks_a_request_uri_too(tmp_path):
    """gunicorn names the request in its error log when the app fails mid-response."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", compose.BASE / "gunicorn.conf.py")
    assert spec and spec.loader
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    log = conf.logger_class(cfg)
    log.error("Error handling request %s", "/pay/PAYTOKENsecret123?code=OAUTHCODE1&page=2")
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /pay/[token]?code=[filtered]&page=2" in text
    assert "PAYTOKENsecret123" not in text and "OAUTHCODE1" not in text
