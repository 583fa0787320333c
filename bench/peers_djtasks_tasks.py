"""The no-op task of the django-tasks peers (imported only on the side venv, Django 5.2 + backport)."""

from django_tasks import task


@task(queue_name="bench")
def noop() -> None:
    """A no-op: completion is the row in status SUCCESSFUL."""
