from django.contrib import admin
from django.urls import include, path

from jobs.observe.views import healthz, metrics, ready

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("healthz/ready", ready, name="healthz-ready"),
    path("metrics", metrics, name="metrics"),
    path("", include("pii.urls")),
    path("", include("invoices.urls")),
    path("", include("sync.urls")),
]
