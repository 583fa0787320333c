from django.urls import path

from invoices.views import pay

app_name = "invoices"
urlpatterns = [
    path("pay/<str:token>", pay, name="pay"),
]
