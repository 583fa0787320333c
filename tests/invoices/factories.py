from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from invoices.models import Invoice, InvoiceLine


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    number = factory.Sequence(lambda n: f"INV-2025-{n:05d}")
    customer_name = "Ada Lovelace"
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.org")
    currency = "EUR"
    issue_date = dt.date(2025, 3, 1)
    due_date = dt.date(2025, 3, 31)


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    description = factory.Sequence(lambda n: f"Consulting, item {n}")
    quantity = Decimal("2")
    unit_price = Decimal("100.00")
    tax_rate = Decimal("23.00")


def invoice_with_lines(n: int = 2, **kwargs: object) -> Invoice:
    invoice = InvoiceFactory(**kwargs)
    for i in range(n):
        InvoiceLineFactory(invoice=invoice, position=i)
    return invoice
