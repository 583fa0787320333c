"""The admin's Outbox: the e-mails EMAIL_PROVIDER=outbox wrote under var/outbox, newest first,
each opened with its text and HTML parts and its attachments (staff only, like the rest of the
admin: these are real customers' e-mails)."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from invoices.outbox import outbox_get, outbox_list


def outbox_urls(site: admin.AdminSite) -> list:
    return [
        path("outbox/", site.admin_view(_list_view(site)), name="invoices_outbox"),
        path("outbox/<str:name>/", site.admin_view(_detail_view(site)), name="invoices_outbox_message"),
        path(
            "outbox/<str:name>/<int:index>/",
            site.admin_view(attachment_view),
            name="invoices_outbox_attachment",
        ),
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
    filename, content_type, data = found[index]
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename.replace(chr(34), "")}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
