"""Which class handles which job type: explicit registrations first, then the naming convention.

Every built-in handler says its type where it is defined (Zulip's `@assign_queue`), so grepping
a job type finds its class:

    @register_handler("ai_processing")
    class AiProcessingHandler(JobHandler): ...

The naming convention still finds it too (`"ai_processing"` → `AiProcessingHandler` in
`queue_handlers/handlers/ai_processing.py`). Registration happens at start-up only — the
handler modules are imported by QueueHandlersConfig.ready(), other apps register from their own
AppConfig.ready() — so web and every worker process build the same registry. A registration
after start-up would reach this one process only (never the workers), so it is refused with
RegistrationClosed; tests swap handlers in-process with `override_handler`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from django.apps import apps
from django.conf import settings

from jobs import RateLimit
from queue_handlers.base import HandlerError, JobHandler, UnknownJobType

HANDLERS_PACKAGE = "queue_handlers.handlers"
_JOB_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_explicit: dict[str, type[JobHandler] | str] = {}
H = TypeVar("H", bound=type[JobHandler])


class RegistrationClosed(HandlerError, RuntimeError):
    """register_handler called after start-up: it would not reach the worker processes."""


@overload
def register_handler(job_type: str) -> Callable[[H], H]: ...
@overload
def register_handler(job_type: str, handler: type[JobHandler] | str) -> None: ...
def register_handler(job_type: str, handler: type[JobHandler] | str | None = None) -> Any:
    """Route `job_type` to `handler` (a class, or "module.path:ClassName" imported when used);
    without `handler`, a class decorator. Only while Django starts (AppConfig.ready)."""
    if not _JOB_TYPE.match(job_type or ""):
        raise ValueError(f"job type {job_type!r}: use lower_snake_case (a-z, 0-9, _)")
    if handler is None:

        def decorate(cls: H) -> H:
            if not cls.job_type:
                cls.job_type = job_type
            elif cls.job_type != job_type:
                raise ValueError(
                    f"@register_handler({job_type!r}) on {cls.__name__} whose job_type is {cls.job_type!r}"
                )
            register_handler(job_type, cls)
            return cls

        return decorate
    if not isinstance(handler, str) and not (isinstance(handler, type) and issubclass(handler, JobHandler)):
        raise TypeError(f"handler for {job_type!r} must be a JobHandler subclass or a dotted path")
    if apps.ready and _explicit.get(job_type) is not handler:
        raise RegistrationClosed(
            f"register_handler({job_type!r}) after start-up would reach this process only, never the "
            "workers: register it in your app's AppConfig.ready() (or decorate a class in a module "
            "that ready() imports)"
        )
    _explicit[job_type] = handler
    return None


def register_builtin_handlers() -> None:
    """Import every module of the handlers package (from AppConfig.ready) so their
    @register_handler decorators run in every process at start-up."""
    package = importlib.import_module(HANDLERS_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{HANDLERS_PACKAGE}.{info.name}")


@contextmanager
def override_handler(job_type: str, handler: type[JobHandler] | str) -> Iterator[None]:
    """For tests: route `job_type` to `handler` in THIS process only (an in-process worker
    sees it, a worker subprocess does not), restoring the previous entry afterwards."""
    if not _JOB_TYPE.match(job_type or ""):
        raise ValueError(f"job type {job_type!r}: use lower_snake_case (a-z, 0-9, _)")
    missing = object()
    before = _explicit.get(job_type, missing)
    _explicit[job_type] = handler
    try:
        yield
    finally:
        if before is missing:
            _explicit.pop(job_type, None)
        else:
            _explicit[job_type] = before  # type: ignore[assignment]


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
    """The limit in force: the admin's (HandlerRateLimit), else settings.HANDLER_RATE_LIMITS,
    else the handler's own. Read on every call: a worker applies a change to its next job."""
    from queue_handlers.models import HandlerRateLimit

    chosen = HandlerRateLimit.objects.filter(job_type=job_type).values_list("rate_limit", flat=True).first()
    if chosen is not None:
        return chosen or None
    return default_rate_limit_for(job_type, handler)


def default_rate_limit_for(job_type: str, handler: type[JobHandler] | None = None) -> str | None:
    """The limit without the admin's: settings.HANDLER_RATE_LIMITS, then the handler's own."""
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
    limit = default_rate_limit_for(job_type, cls)  # admin limits are checked at save
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
