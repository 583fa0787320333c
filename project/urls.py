from django.contrib import admin
from django.urls import include, path

from jobs.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("pii.urls")),
    path("", include("invoices.urls")),
    path("", include("sync.urls")),
]
