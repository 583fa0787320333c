"""Deprecated: the seed's SQSWorker API, kept so old callers work. Use emails.polling."""

from __future__ import annotations

import warnings
from typing import Any

from emails import polling


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"emails.sqs_worker.{old}() is deprecated; use emails.polling.{new}()",
        DeprecationWarning,
        stacklevel=3,
    )


def status() -> dict[str, Any]:
    _deprecated("status", "status")
    return polling.status()


def pause() -> Any:
    _deprecated("pause", "disable_polling")
    return polling.disable_polling()


def resume() -> Any:
    _deprecated("resume", "enable_polling")
    return polling.enable_polling()


def process_now() -> Any:
    _deprecated("process_now", "poll_now")
    return polling.poll_now()
