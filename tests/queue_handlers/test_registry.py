"""Registration both ways, discovery by name, and refusals at enqueue (nothing queued)."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from jobs.models import Job
from queue_handlers.base import InvalidPayload, JobHandler, UnknownJobType
from queue_handlers.handlers.ai_processing import AiProcessingHandler
from queue_handlers.handlers.email import EmailHandler
from queue_handlers.models import HandlerJob
from queue_handlers.registry import (
    RegistrationClosed,
    get_handler_class,
    handler_class_name,
    known_types,
    list_handlers,
    register_handler,
    validate_all_handlers,
)
from queue_handlers.services import enqueue_email, enqueue_job
from tests.queue_handlers.conftest import register
from tests.queue_handlers.handlers_for_tests import CustomEchoHandler, NoHandleJob, WrongType

pytestmark = pytest.mark.django_db


def _queued_messages() -> int:
    return redis.Redis.from_url(settings.REDIS_URL).llen("handlers")


def _nothing_queued() -> None:
    assert Job.objects.count() == 0
    assert HandlerJob.objects.count() == 0
    assert _queued_messages() == 0


def test_discovery_by_naming_convention():
    assert handler_class_name("ai_processing") == "AiProcessingHandler"
    assert get_handler_class("ai_processing") is AiProcessingHandler
    assert get_handler_class("email") is EmailHandler
    types = [row["job_type"] for row in list_handlers()]
    assert {"email", "ai_processing", "thought_extraction", "webhook"} <= set(types)


def test_explicit_registration_is_found_and_wins_over_the_convention():
    register("custom_job", CustomEchoHandler)
    assert get_handler_class("custom_job") is CustomEchoHandler
    register("custom_job", "tests.queue_handlers.handlers_for_tests:CustomEchoHandler")
    assert get_handler_class("custom_job") is CustomEchoHandler  # by dotted path, lazily

    class OtherEmail(EmailHandler):
        pass

    register("email", OtherEmail)
    assert get_handler_class("email") is OtherEmail
    row = next(r for r in list_handlers() if r["job_type"] == "email")
    assert row["source"] == "registered"


def test_register_refuses_bad_names_and_non_handlers():
    with pytest.raises(ValueError, match="lower_snake_case"):
        register_handler("Bad-Name", CustomEchoHandler)
    with pytest.raises(TypeError, match="JobHandler"):
        register_handler("thing", dict)  # type: ignore[arg-type]


def test_unknown_type_is_refused_at_enqueue_and_nothing_is_queued():
    with pytest.raises(UnknownJobType) as err:
        enqueue_job("sms", {"phone": "+15550100"})
    assert "unknown job type 'sms'" in str(err.value)
    assert "email" in str(err.value)  # the message lists what is known
    _nothing_queued()


def test_invalid_payload_is_refused_with_a_clear_message_and_nothing_is_queued():
    with pytest.raises(InvalidPayload, match="missing required field.*subject"):
        enqueue_email({"to": "a@example.com"})
    with pytest.raises(InvalidPayload) as err:
        enqueue_email({"to": ["secret-person@nowhere"], "subject": "hi"})
    assert "to: " in str(err.value) and "not a valid e-mail address" in str(err.value)
    assert "secret-person" not in str(err.value)  # the message never echoes the value
    with pytest.raises(InvalidPayload, match="temperature"):
        enqueue_job("ai_processing", {"prompt": "x", "temperature": 7})
    with pytest.raises(InvalidPayload, match="unexpected|Extra inputs"):
        enqueue_job("ai_processing", {"prompt": "x", "api_key": "sk-should-not-be-here"})
    with pytest.raises(InvalidPayload, match="JSON object"):
        enqueue_job("email", ["not", "an", "object"])  # type: ignore[arg-type]
    _nothing_queued()


def test_oversized_payload_is_refused(settings):
    settings.HANDLER_MAX_PAYLOAD_BYTES = 100
    with pytest.raises(InvalidPayload, match="HANDLER_MAX_PAYLOAD_BYTES"):
        enqueue_job("ai_processing", {"prompt": "x" * 200})
    _nothing_queued()


def test_valid_enqueue_records_the_type_but_not_the_payload(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        res = enqueue_email({"to": "person@example.com", "subject": "Welcome", "body": "Hi"})
    job = Job.objects.get(pk=res.job_id)
    assert job.state == "queued" and job.queue == "handlers"
    assert job.kwargs == {"job_type": "email", "handler_job_id": res.job_id}
    assert "person@example.com" not in json.dumps(job.kwargs)
    assert HandlerJob.objects.get(pk=res.job_id).payload["to"] == "person@example.com"
    assert _queued_messages() == 1


def test_validate_all_handlers_passes_for_built_ins_and_catches_broken_ones(settings):
    assert validate_all_handlers() == []
    register("missing_module", "tests.queue_handlers.no_such_module:Handler")
    register("lazy_job", NoHandleJob)
    register("mismatch", WrongType)
    settings.HANDLER_RATE_LIMITS = {**settings.HANDLER_RATE_LIMITS, "email": "lots"}
    problems = "\n".join(validate_all_handlers())
    assert "missing_module: cannot load handler" in problems
    assert "lazy_job: NoHandleJob does not implement handle_job" in problems
    assert "mismatch: WrongType.job_type is 'something_else'" in problems
    assert "email: rate limit 'lots'" in problems


def test_handlers_command_lists_and_validates(capsys):
    call_command("handlers", "list")
    out = capsys.readouterr().out
    assert "ai_processing" in out and "AiProcessingHandler" in out and "rate=30/60s" in out
    call_command("handlers", "validate")
    assert "valid" in capsys.readouterr().out
    register("lazy_job", NoHandleJob)
    with pytest.raises(CommandError, match="1 handler problem"):
        call_command("handlers", "validate")


def test_enqueue_job_command(capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("enqueue_job", "ai_processing", "--payload", '{"prompt": "Summarise"}')
    job_id, state = capsys.readouterr().out.split()
    assert state == "queued"
    assert Job.objects.get(pk=job_id).kwargs["job_type"] == "ai_processing"


def test_enqueue_job_command_refuses_bad_input_and_queues_nothing():
    with pytest.raises(CommandError, match="unknown job type"):
        call_command("enqueue_job", "nope", "--payload", "{}")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("enqueue_job", "email", "--payload", "{to:")
    with pytest.raises(CommandError, match="missing required field"):
        call_command("enqueue_job", "email", "--payload", '{"to": "a@example.com"}')
    _nothing_queued()


@pytest.mark.django_db(transaction=True)
def test_enqueue_inside_a_rolled_back_transaction_leaves_nothing():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        res = enqueue_job("ai_processing", {"prompt": "only if the order commits"})
        assert res.state == "queued"
        raise RuntimeError("order failed")
    _nothing_queued()


def test_every_built_in_handler_names_its_type_where_it_is_defined():
    """grep '"<type>"' finds the class: @register_handler("<type>") sits on it, and start-up
    (AppConfig.ready) registered it in this process like in every worker."""
    import inspect

    from queue_handlers import registry

    for job_type in ("email", "ai_processing", "thought_extraction", "webhook"):
        cls = registry._explicit[job_type]
        source = inspect.getsource(inspect.getmodule(cls))
        assert f'@register_handler("{job_type}")\nclass {cls.__name__}(JobHandler):' in source
        assert cls.job_type == job_type
        row = next(r for r in list_handlers() if r["job_type"] == job_type)
        assert row["source"] == "registered"


def test_registration_after_start_up_is_refused_with_a_clear_error():
    with pytest.raises(RegistrationClosed, match=r"register it in your app's AppConfig.ready\(\)"):
        register_handler("late_job", CustomEchoHandler)
    with pytest.raises(RegistrationClosed, match="would reach this process only"):

        @register_handler("late_job")
        class LateHandler(JobHandler):
            def handle_job(self, job):
                return None

    assert "late_job" not in known_types()
    with pytest.raises(UnknownJobType):
        enqueue_job("late_job", {"text": "x"})


def test_the_decorator_refuses_a_class_that_declares_another_type():
    with pytest.raises(ValueError, match="whose job_type is 'something_else'"):
        register_handler("mismatch")(WrongType)


def test_the_history_shows_each_handlers_own_max_attempts(django_capture_on_commit_callbacks):
    register("custom_job", CustomEchoHandler)
    with django_capture_on_commit_callbacks(execute=True):
        custom = enqueue_job("custom_job", {"text": "x"})
        hook = enqueue_job("webhook", {"url": "https://example.com/hook", "payload": {}})
    assert Job.objects.get(pk=custom.job_id).max_attempts == 3  # not the dispatch task's 10
    assert Job.objects.get(pk=hook.job_id).max_attempts == 5
