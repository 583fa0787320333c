import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin user when none exists (password from DJANGO_SUPERUSER_PASSWORD)."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(16)
        User.objects.create_superuser(username=username, email="", password=password)
        shown = password if not os.environ.get("DJANGO_SUPERUSER_PASSWORD") else "(from env)"
        # Printed once, on the operator's own terminal; never logged.
        self.stdout.write(f"Created admin user {username!r} with password {shown}")
