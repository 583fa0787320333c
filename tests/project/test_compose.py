"""docker-compose.yml works as shipped: every setting reaches the containers, AWS credentials
too, a one-shot `setup` makes the invoice queues and the SES chain after `migrate`, and the app
services wait for both. The services' own commands run here, with the environment compose would
give them, against this test run's PostgreSQL, Redis and a moto server."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess

import boto3
import pytest

from tests.project import compose


def _compose_env_module():
    spec = importlib.util.spec_from_file_location("compose_env", compose.BASE / "scripts" / "compose_env.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_the_code_reads_reaches_every_app_container():
    read = _compose_env_module().settings_read()
    # The reads are found in the source, so a new setting is seen without a list to keep.
    assert {"SMTP_PORT", "SMTP_USER", "FRONTEND_URL", "DEFAULT_FROM_EMAIL", "QUEUE_PROVIDER"} <= read
    assert {"SLACK_USER_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "AI_API_KEY"} <= read
    for name, svc in compose.app_services().items():
        missing = sorted(read - set(svc["environment"]))
        assert not missing, f"compose service {name} does not pass {missing}"


def test_a_setting_in_env_reaches_the_container_and_an_unset_one_keeps_the_code_default():
    web = compose.app_services()["web"]
    env = compose.environment(web, {**compose.OPERATOR_ENV, "SMTP_PORT": "587", "SLACK_USER_TOKEN": "xoxp-1"})
    assert env["SMTP_PORT"] == "587" and env["SLACK_USER_TOKEN"] == "xoxp-1"
    assert "SMTP_USER" not in env  # unset, not "" (an empty SMTP_PORT would not even parse)
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]  # moto needs some; real AWS: a role
    assert env["AWS_ENDPOINT_URL"] == "http://moto:5000"
    assert env["EMAIL_PROVIDER"] == "outbox"  # until SES or SMTP is configured: the admin's Outbox
    for name, svc in compose.app_services().items():  # ... which workers write and the web reads
        assert "outbox:/app/var/outbox" in svc["volumes"], name
    real_aws = compose.environment(
        web, {"AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    )
    assert real_aws["AWS_ENDPOINT_URL"] == "" and real_aws["AWS_ACCESS_KEY_ID"] == ""  # boto3's chain: a role


def test_every_setting_the_code_reads_is_in_env_example():
    read = _compose_env_module().settings_read()
    listed = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (compose.BASE / ".env.example").read_text(), re.MULTILINE)
    )
    assert sorted(read - listed) == []


def test_app_services_start_only_after_migrate_and_setup_completed():
    services = compose.services()
    done = {"condition": "service_completed_successfully"}
    assert services["setup"]["depends_on"]["migrate"] == done
    assert services["setup"]["depends_on"]["moto"] == {"condition": "service_healthy"}
    assert "healthcheck" in services["moto"]
    for name, svc in compose.app_services().items():
        if name in ("migrate", "setup"):
            continue
        assert svc["depends_on"].get("migrate") == done, name
        assert svc["depends_on"].get("setup") == done, name


def test_the_setup_service_makes_the_invoice_queues_and_the_ses_chain_idempotently(
    transactional_db, moto_server, tmp_path
):
    setup = compose.services()["setup"]
    env = compose.on_loopback(
        compose.environment(setup, compose.OPERATOR_ENV), moto=moto_server, var_dir=tmp_path
    )
    for _ in range(2):  # a second `docker compose up` runs it again
        done = compose.run(setup, env)
        assert done.returncode == 0, done.stdout + done.stderr
    sqs = boto3.client(
        "sqs",
        region_name=env["AWS_REGION"],
        endpoint_url=moto_server,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    names = {url.rsplit("/", 1)[1] for url in sqs.list_queues().get("QueueUrls", [])}
    expected = {"priority-emails-queue", "invoice-generation-queue", "ses-events"}
    assert expected | {f"{n}-dlq" for n in expected} <= names
    ses = boto3.client(
        "ses",
        region_name=env["AWS_REGION"],
        endpoint_url=moto_server,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    sets = [c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"]]
    assert "ses-events" in sets


def test_the_migrate_service_runs_before_the_apps(transactional_db, moto_server, tmp_path):
    migrate = compose.services()["migrate"]
    env = compose.on_loopback(
        compose.environment(migrate, compose.OPERATOR_ENV), moto=moto_server, var_dir=tmp_path
    )
    done = compose.run(migrate, env)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dotenv", ["none", "env.example"])
def test_app_services_pass_django_deploy_checks_with_the_compose_environment(
    transactional_db, moto_server, tmp_path, dotenv
):
    shell = dict(compose.OPERATOR_ENV)
    if dotenv == "env.example":  # an operator who copied .env.example to .env and set the secrets
        for line in (compose.BASE / ".env.example").read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                shell.setdefault(name, value)
    seen: set[tuple[tuple[str, str], ...]] = set()
    for name, svc in compose.app_services().items():
        env = compose.on_loopback(compose.environment(svc, shell), moto=moto_server, var_dir=tmp_path)
        key = tuple(sorted(env.items()))
        if key in seen:
            continue
        seen.add(key)
        done = compose.run(svc, env, args=["python", "manage.py", "check", "--deploy"])
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"


@pytest.mark.skipif(not shutil.which("docker"), reason="no docker CLI")
def test_docker_compose_config_validates():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin")
    done = subprocess.run(
        ["docker", "compose", "config", "-q"],
        cwd=compose.BASE,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            **compose.OPERATOR_ENV,
        },
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
