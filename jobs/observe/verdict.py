"""The dashboard's verdict: healthy / degraded / down, from the readiness report itself.

One source: the banner reads `jobs.observe.health.readiness()` (the cached report that
`/healthz/ready` serves), so the page and the probe never disagree.
- down: the database, the broker or every worker is gone — nothing runs;
- degraded: some other section fails (a queue nobody consumes, beat silent, an app's check);
- healthy: nothing fails (warnings — something not configured, a paused queue — are listed).
Every failing or warning section comes with its reason and its fix.
"""

from __future__ import annotations

from typing import Any

from jobs.observe.health import readiness

CORE = ("database", "broker", "workers")
LABELS = {
    "healthy": "Healthy: every check passes",
    "degraded": "Degraded: some checks fail",
    "down": "Down: jobs cannot run",
}


def verdict_from(report: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = report.get("checks", {})
    failing = [name for name, r in checks.items() if r.get("status") == "failing"]
    level = "down" if set(failing) & set(CORE) else "degraded" if failing else "healthy"
    items = [
        {
            "check": name,
            "status": r["status"],
            "reason": r.get("error") if r["status"] == "failing" else r.get("warning"),
            "fix": r.get("fix", ""),
        }
        for name, r in checks.items()
        if r.get("status") in ("failing", "warning")
    ]
    items.sort(key=lambda i: (i["status"] != "failing", i["check"] not in CORE))
    return {
        "level": level,
        "label": LABELS[level],
        "items": items,
        "generated_at": report.get("generated_at"),
    }


def verdict() -> dict[str, Any]:
    """The banner's content, at most HEALTH_CACHE_SECONDS old."""
    _ok, report = readiness()
    return verdict_from(report)
