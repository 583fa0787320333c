from django.contrib import admin
from django.urls import include, path

from jobs.observe.views import healthz, metrics, ready

urlpatterns = [
    # Django's password reset (before admin/, whose catch-all would take its path); its e-mail
    # goes through the priority queue.
    path("", include("invoices.accounts")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("healthz/ready", ready, name="healthz-ready"),
    path("metrics", metrics, name="metrics"),
    path("", include("pii.urls")),
    path("", include("invoices.urls")),
    path("", include("sync.urls")),
]
