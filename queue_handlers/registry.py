"""Which class handles which job type: explicit registrations first, then the naming convention.

`"ai_processing"` is found as `AiProcessingHandler` in `queue_handlers/handlers/ai_processing.py`,
so adding a job type means writing one module. Other apps register handlers with non-standard
names from their AppConfig.ready() (`register_handler("custom_job", MyHandler)`), so every
process (web, every worker) sees the same registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

from django.conf import settings

from jobs.options import RateLimit
from queue_handlers.base import JobHandler, UnknownJobType

HANDLERS_PACKAGE = "queue_handlers.handlers"
_JOB_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_explicit: dict[str, type[JobHandler] | str] = {}


def register_handler(job_type: str, handler: type[JobHandler] | str) -> None:
    """Route `job_type` to `handler` (a class, or "module.path:ClassName" imported when used)."""
    if not _JOB_TYPE.match(job_type or ""):
        raise ValueError(f"job type {job_type!r}: use lower_snake_case (a-z, 0-9, _)")
    if not isinstance(handler, str) and not (isinstance(handler, type) and issubclass(handler, JobHandler)):
        raise TypeError(f"handler for {job_type!r} must be a JobHandler subclass or a dotted path")
    _explicit[job_type] = handler


def unregister_handler(job_type: str) -> None:
    _explicit.pop(job_type, None)


def handler_class_name(job_type: str) -> str:
    """'ai_processing' -> 'AiProcessingHandler'."""
    return "".join(part.capitalize() for part in job_type.split("_")) + "Handler"


def get_handler_class(job_type: str) -> type[JobHandler]:
    """The handler class for a job type, or UnknownJobType naming the known ones."""
    if not isinstance(job_type, str) or not _JOB_TYPE.match(job_type):
        raise UnknownJobType(f"unknown job type {job_type!r}; known: {', '.join(known_types())}")
    if job_type in _explicit:
        return _resolve(job_type, _explicit[job_type])
    module_name = f"{HANDLERS_PACKAGE}.{job_type}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but imports something missing: say so, don't hide it
        raise UnknownJobType(f"unknown job type {job_type!r}; known: {', '.join(known_types())}") from None
    cls = getattr(module, handler_class_name(job_type), None)
    if cls is None:
        raise UnknownJobType(
            f"job type {job_type!r}: {module_name} has no class {handler_class_name(job_type)}"
        )
    return cls


def get_handler(job_type: str) -> JobHandler:
    return get_handler_class(job_type)()


def known_types() -> list[str]:
    """Every registered and every discoverable job type, sorted."""
    found = set(_explicit)
    package = importlib.import_module(HANDLERS_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            found.add(info.name)
    return sorted(found)


def rate_limit_for(job_type: str, handler: type[JobHandler] | None = None) -> str | None:
    """The limit in force: settings.HANDLER_RATE_LIMITS first, then the handler's own."""
    configured = getattr(settings, "HANDLER_RATE_LIMITS", {}) or {}
    if job_type in configured:
        return configured[job_type] or None
    if handler is None:
        try:
            handler = get_handler_class(job_type)
        except UnknownJobType:
            return None
    return handler.rate_limit


def list_handlers() -> list[dict[str, Any]]:
    """One row per job type: its class, how it was found, and what it declares."""
    rows = []
    for job_type in known_types():
        row: dict[str, Any] = {
            "job_type": job_type,
            "source": "registered" if job_type in _explicit else "convention",
        }
        try:
            cls = get_handler_class(job_type)
        except Exception as exc:
            row.update(handler=None, error=f"{type(exc).__name__}: {exc}")
            rows.append(row)
            continue
        row.update(
            handler=f"{cls.__module__}.{cls.__qualname__}",
            required_fields=list(cls.required_fields),
            queue=cls.queue,
            rate_limit=rate_limit_for(job_type, cls),
            max_attempts=cls.max_attempts,
            retry_on=[e.__name__ for e in cls.retry_on],
        )
        rows.append(row)
    return rows


def validate_handler(job_type: str) -> list[str]:
    """Problems with one job type's handler (empty when it is well formed)."""
    try:
        cls = get_handler_class(job_type)
    except Exception as exc:
        return [f"{job_type}: cannot load handler: {type(exc).__name__}: {exc}"]
    problems = []
    if not (isinstance(cls, type) and issubclass(cls, JobHandler)):
        return [f"{job_type}: {cls!r} is not a JobHandler subclass"]
    if cls.job_type != job_type:
        problems.append(f"{job_type}: {cls.__name__}.job_type is {cls.job_type!r}")
    if cls.handle_job is JobHandler.handle_job:
        problems.append(f"{job_type}: {cls.__name__} does not implement handle_job")
    if not isinstance(cls.required_fields, tuple | list) or not all(
        isinstance(f, str) for f in cls.required_fields
    ):
        problems.append(f"{job_type}: required_fields must be a tuple of field names")
    if not cls.queue or not isinstance(cls.queue, str):
        problems.append(f"{job_type}: queue must be a queue name")
    from queue_handlers.tasks import MAX_ATTEMPTS_CAP

    if not isinstance(cls.max_attempts, int) or not 1 <= cls.max_attempts <= MAX_ATTEMPTS_CAP:
        problems.append(f"{job_type}: max_attempts must be between 1 and {MAX_ATTEMPTS_CAP}")
    if not all(isinstance(e, type) and issubclass(e, BaseException) for e in cls.retry_on):
        problems.append(f"{job_type}: retry_on must name exception classes")
    limit = rate_limit_for(job_type, cls)
    if limit is not None:
        try:
            RateLimit.parse(limit)
        except ValueError as exc:
            problems.append(f"{job_type}: {exc}")
    return problems


def validate_all_handlers() -> list[str]:
    """Every known handler importable and well formed; returns the problems found."""
    problems: list[str] = []
    for job_type in known_types():
        problems.extend(validate_handler(job_type))
    for job_type in getattr(settings, "HANDLER_RATE_LIMITS", {}) or {}:
        if job_type not in known_types():
            problems.append(f"HANDLER_RATE_LIMITS names unknown job type {job_type!r}")
    return problems


def _resolve(job_type: str, handler: type[JobHandler] | str) -> type[JobHandler]:
    if not isinstance(handler, str):
        return handler
    module_name, _, attr = handler.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownJobType(f"job type {job_type!r}: cannot import {handler}: {exc}") from None
    return cls
