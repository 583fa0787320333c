"""The project's own app: what belongs to no business app (the local AWS stand-in's report)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.apps import AppConfig
from django.conf import settings


def local_aws_health() -> dict[str, Any]:
    """`make run`'s moto: when it last started and which invoice e-mail attempts it re-queued
    then (moto keeps nothing across a restart; scripts/local_aws.py publishes them again)."""
    path = settings.VAR_DIR / "local_aws.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {
            "ok": False,
            "error": "the local AWS (moto) has not started yet",
            "fix": "`make run` starts it (process `aws`) and restarts it when it dies",
        }
    requeued = state.get("requeued") or []
    report: dict[str, Any] = {
        "ok": True,
        "endpoint": state.get("endpoint"),
        "started_s_ago": round(time.time() - float(state.get("started_at", 0)), 1),
        "requeued_at_start": len(requeued),
    }
    if requeued:
        report["note"] = (
            f"{len(requeued)} invoice e-mail attempt(s) were re-queued when the local AWS started "
            f"(its queues start empty): {', '.join(map(str, requeued[:20]))}"
        )
    return report


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Project"

    def ready(self) -> None:
        if settings.LOCAL_AWS:
            from jobs import register_check

            register_check("local_aws", local_aws_health)
