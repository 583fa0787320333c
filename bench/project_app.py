"""This project's Celery app with the benchmark's setting toggles applied (`celery -A bench.project_app`)."""

from bench import celery_overrides
from project.celery import app

celery_overrides.apply(app)

__all__ = ["app"]
