from django.urls import path

from sync import views

app_name = "sync"
urlpatterns = [
    path("sync/strava/connect/<str:link>/", views.strava_connect, name="strava-connect"),
    path("sync/strava/callback/", views.strava_callback, name="strava-callback"),
]
