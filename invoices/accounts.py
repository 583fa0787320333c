"""Django's password reset, with its e-mail marked critical: it travels on the priority queue
(invoices.mail), so a reset link never waits behind a run of invoices.

The views are Django's own (django.contrib.auth.views) with the admin's templates; the admin's
login page links to them ("Forgotten your password or username?") because `admin_password_reset`
is a URL name here. Django's reset views answer the same for known and unknown addresses.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.urls import path

from invoices.mail import mail_mark
from invoices.models import EmailKind

logger = logging.getLogger("invoices")
PASSWORD_RESET_PRIORITY = 1


class QueuedPasswordResetForm(PasswordResetForm):
    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Django's own rendering, plus the mark that puts the message on the priority queue."""
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email])
        if html_email_template_name is not None:
            message.attach_alternative(
                loader.render_to_string(html_email_template_name, context), "text/html"
            )
        mail_mark(message, priority=PASSWORD_RESET_PRIORITY, kind=EmailKind.PASSWORD_RESET)
        try:
            message.send()
        except Exception:  # as Django's form does: the page must not tell whether the user exists
            logger.exception("password reset e-mail could not be queued user=%s", context["user"].pk)


urlpatterns = [
    path(
        "admin/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="admin_password_reset",
    ),
    path(
        "admin/password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
