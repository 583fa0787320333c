"""The admin's Outbox: the e-mails EMAIL_PROVIDER=outbox wrote under var/outbox, newest first,
each opened with its text and HTML parts and its attachments. These are real customers' e-mails
(invoice PDFs, pay links, password-reset links), so a staff login is not enough: every page needs
the view permission on the e-mail attempts they are the mail of (invoices.view_emailattempt).

An attachment's type and name are the sender's: it is always downloaded (Content-Disposition:
attachment, application/octet-stream), never rendered inline in the admin's origin, and the
response is sandboxed (CSP `sandbox`) and not sniffed, so an HTML or SVG "attachment" cannot run
script as the admin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import content_disposition_header

from invoices.outbox import outbox_get, outbox_list

PERMISSION = "invoices.view_emailattempt"


def _permitted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


def outbox_urls(site: admin.AdminSite) -> list:
    def view(v: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        return site.admin_view(_permitted(v))

    return [
        path("outbox/", view(_list_view(site)), name="invoices_outbox"),
        path("outbox/<str:name>/", view(_detail_view(site)), name="invoices_outbox_message"),
        path("outbox/<str:name>/<int:index>/", view(attachment_view), name="invoices_outbox_attachment"),
    ]


def _list_view(site: admin.AdminSite):
    def view(request: HttpRequest) -> HttpResponse:
        context = {**site.each_context(request), "title": "Outbox", "items": outbox_list()}
        return TemplateResponse(request, "admin/invoices/outbox_list.html", context)

    return view


def _detail_view(site: admin.AdminSite):
    def view(request: HttpRequest, name: str) -> HttpResponse:
        item = outbox_get(name=name)
        if item is None:
            raise Http404("no such outbox message")
        attachments = [(i, n, t, len(b)) for i, (n, t, b) in enumerate(item.attachments())]
        context = {
            **site.each_context(request),
            "title": item.subject or "(no subject)",
            "item": item,
            "text": item.text(),
            "html": item.html(),
            "attachments": attachments,
        }
        return TemplateResponse(request, "admin/invoices/outbox_message.html", context)

    return view


def attachment_view(request: HttpRequest, name: str, index: int) -> HttpResponse:
    item = outbox_get(name=name)
    found = item.attachments() if item else []
    if index >= len(found):
        raise Http404("no such attachment")
    filename, _sender_chosen_type, data = found[index]
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
