"""The invoice PDF (reportlab): number, customer, lines, totals, due date."""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from invoices.models import Invoice

_styles = getSampleStyleSheet()


def amount_text(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def invoice_pdf_render(*, invoice: Invoice) -> bytes:
    """Render in memory; the worker does this from the invoice id at send time, so the queue
    message never carries the document."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"Invoice {invoice.number}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
    )
    cur = invoice.currency
    lines = invoice.line_list()
    rows: list[list[str]] = [["Description", "Qty", "Unit price", "Tax %", "Amount"]]
    for line in lines:
        rows.append(
            [
                line.description[:80],
                f"{line.quantity.normalize():f}",
                amount_text(line.unit_price, cur),
                f"{line.tax_rate:.2f}",
                amount_text(line.amount, cur),
            ]
        )
    subtotal = sum((line.amount for line in lines), Decimal("0"))
    tax = sum((line.tax_amount for line in lines), Decimal("0"))
    rows += [
        ["", "", "", "Subtotal", amount_text(subtotal, cur)],
        ["", "", "", "Tax", amount_text(tax, cur)],
        ["", "", "", "Total", amount_text(subtotal + tax, cur)],
    ]
    table = Table(rows, colWidths=[78 * mm, 16 * mm, 30 * mm, 18 * mm, 32 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEABOVE", (3, -3), (-1, -3), 0.5, colors.black),
                ("FONTNAME", (3, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story = [
        Paragraph(f"Invoice {invoice.number}", _styles["Title"]),
        Paragraph(f"Billed to: {_esc(invoice.customer_name)}", _styles["Normal"]),
        Paragraph(f"Issue date: {invoice.issue_date:%Y-%m-%d}", _styles["Normal"]),
        Paragraph(f"Due date: {invoice.due_date:%Y-%m-%d}", _styles["Normal"]),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 8 * mm),
        Paragraph(
            f"Amount due: {amount_text(subtotal + tax, cur)} by {invoice.due_date:%Y-%m-%d}",
            _styles["Heading3"],
        ),
    ]
    if invoice.notes:
        story.append(Paragraph(_esc(invoice.notes), _styles["Normal"]))
    doc.build(story)
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
