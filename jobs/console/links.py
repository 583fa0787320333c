"""Links from a job's page to the records it touched, where the app's models say so.

Two ways an app's record names its job: a `job_id` field on the record (sync runs and
outcomes, Slack events), or a job keyword argument holding the record's id (an invoice e-mail
attempt, a sync run, a handler job). Only records with an admin page are linked.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import NoReverseMatch, reverse

from jobs.models import Job

# job kwarg -> "app_label.Model" whose primary key it holds; apps declare theirs in ready().
KWARG_MODELS: dict[str, str] = {}


def register_link(kwarg: str, model: str) -> None:
    """A job keyword argument `kwarg` holds the primary key of `model` ("app_label.Model"): the
    job's page links to that record."""
    KWARG_MODELS[kwarg] = model


def _url(obj: models.Model) -> str | None:
    meta = obj._meta
    if obj.__class__ not in admin.site._registry:
        return None
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def job_links(job: Job, *, limit: int = 10) -> list[tuple[str, str]]:
    """(label, admin url) of the records this job touched, as far as the models know."""
    found: list[tuple[str, str]] = []
    for kwarg, label in KWARG_MODELS.items():
        value = (job.kwargs or {}).get(kwarg)
        if value in (None, "", "[filtered]") or not apps.is_installed(label.split(".")[0]):
            continue
        model = apps.get_model(label)
        obj = model.objects.filter(pk=value).first()
        if obj is not None and (url := _url(obj)):
            found.append((f"{model._meta.verbose_name} {obj.pk}", url))
    for model in apps.get_models():
        if model is Job or "job_id" not in {f.name for f in model._meta.fields}:
            continue
        field = model._meta.get_field("job_id")
        if not isinstance(field, models.Field) or field.get_internal_type() not in ("CharField", "UUIDField"):
            continue
        for obj in model._default_manager.filter(job_id=str(job.id))[:limit]:
            if url := _url(obj):
                found.append((f"{model._meta.verbose_name} {obj.pk}", url))
    return found[:limit]
