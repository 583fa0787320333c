"""Totals in Decimal, and the PDF as a reader sees it."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoices.pdf import invoice_pdf_render
from tests.invoices.factories import InvoiceFactory, InvoiceLineFactory

pytestmark = pytest.mark.django_db


def test_totals_are_exact_decimals_rounded_half_up():
    invoice = InvoiceFactory(currency="PLN")
    InvoiceLineFactory(
        invoice=invoice, quantity=Decimal("3"), unit_price=Decimal("0.10"), tax_rate=Decimal("0")
    )
    InvoiceLineFactory(
        invoice=invoice, quantity=Decimal("1"), unit_price=Decimal("0.05"), tax_rate=Decimal("50")
    )  # 0.025 tax → 0.03, not banker's 0.02
    assert invoice.subtotal == Decimal("0.35")
    assert invoice.tax_total == Decimal("0.03")
    assert invoice.total == Decimal("0.38")


def test_pdf_shows_number_customer_lines_totals_and_due_date():
    invoice = InvoiceFactory(number="INV-77", customer_name="Grace Hopper & Co")
    InvoiceLineFactory(
        invoice=invoice,
        description="Compiler audit",
        quantity=Decimal("1.5"),
        unit_price=Decimal("1200.00"),
        tax_rate=Decimal("23"),
    )
    reader = PdfReader(io.BytesIO(invoice_pdf_render(invoice=invoice)))
    text = "".join(p.extract_text() for p in reader.pages)
    for expected in (
        "Invoice INV-77",
        "Grace Hopper & Co",
        "Compiler audit",
        "1,800.00 EUR",
        "414.00 EUR",
        "2,214.00 EUR",
        "Due date: 2025-03-31",
    ):
        assert expected in text


def test_a_long_invoice_spans_pages_and_keeps_its_total():
    invoice = InvoiceFactory()
    InvoiceLineFactory.create_batch(
        120, invoice=invoice, unit_price=Decimal("10.00"), quantity=Decimal("1"), tax_rate=Decimal("0")
    )
    reader = PdfReader(io.BytesIO(invoice_pdf_render(invoice=invoice)))
    assert len(reader.pages) > 1
    assert "1,200.00 EUR" in reader.pages[-1].extract_text()
