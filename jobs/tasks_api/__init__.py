"""Django's Tasks API (`django.tasks` on Django 6, the `django-tasks` backport on 5.2) on the
jobs layer: `TASKS = {"default": {"BACKEND": "jobs.tasks_api.DjangoTasksBackend"}}`.
See docs/use-it-in-your-project.md."""

from jobs.tasks_api.backend import DjangoTasksBackend, job_options, layer_priority

__all__ = ["DjangoTasksBackend", "job_options", "layer_priority"]
