"""Benchmarks: `make bench` runs every part, `make bench ONLY=<part>` one of them.

Each part is a module `bench/<part>.py` with `run() -> list[dict]`; every figure is printed as
one JSON line `{"name", "value", "unit"}`. Figures are medians of several runs, and speed is
given as ratios against a peer measured in the same run.
"""

PARTS = ("jobs", "jobs_outage", "emails", "invoices", "pii", "queue_handlers", "sync", "ops")
# Studies run only when named (`make bench ONLY=jobs_settings`): long, and not figures to track.
STUDIES = ("jobs_settings", "jobs_profile", "jobs_ab", "jobs_batch", "jobs_claim")
