"""The payment page a customer reaches from the e-mail."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from invoices.payment import payment_link_open
from invoices.pdf import amount_text


@never_cache
@require_GET
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """Unknown and malformed tokens get the same 404, so guessing learns nothing."""
    link = payment_link_open(token=token)
    if link is None:
        raise Http404("unknown payment link")
    invoice = link.invoice
    response = render(
        request,
        "invoices/pay.html",
        {
            "invoice": invoice,
            "total": amount_text(invoice.total, invoice.currency),
        },
    )
    response["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response["X-Robots-Tag"] = "noindex"
    return response
