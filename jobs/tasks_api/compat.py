"""Django's Tasks API from wherever this Django has it: `django.tasks` (Django 6.0+) or the
`django-tasks` backport (Django 5.2). The rest of this wing imports these names only from here,
so the same backend runs on both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the type checker reads the backport (django-stubs 5.2 knows no django.tasks)
    from django_tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
    from django_tasks import exceptions as _exc
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import get_module_path, normalize_json
else:
    try:  # Django 6.0+
        from django.tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
        from django.tasks import exceptions as _exc
        from django.tasks.backends.base import BaseTaskBackend
        from django.tasks.base import Task, TaskError
        from django.tasks.signals import task_enqueued, task_finished, task_started
        from django.tasks.utils import get_module_path, normalize_json
    except ImportError:  # Django 5.2: the backport
        from django_tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
        from django_tasks import exceptions as _exc
        from django_tasks.backends.base import BaseTaskBackend
        from django_tasks.base import Task, TaskError
        from django_tasks.signals import task_enqueued, task_finished, task_started
        from django_tasks.utils import get_module_path, normalize_json

# The backport says InvalidTaskError, Django 6 says InvalidTask: one name for both.
InvalidTask: type[Exception] = getattr(_exc, "InvalidTask", None) or _exc.InvalidTaskError
TaskResultDoesNotExist: type[Exception] = _exc.TaskResultDoesNotExist


def set_field(result: Any, name: str, value: Any) -> None:
    """TaskResult is a frozen dataclass; its own backends fill it in with object.__setattr__."""
    object.__setattr__(result, name, value)


__all__ = [
    "BaseTaskBackend",
    "InvalidTask",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "get_module_path",
    "normalize_json",
    "set_field",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
