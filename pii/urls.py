from django.urls import path

from pii.views import slack_events

urlpatterns = [
    path("slack/events", slack_events, name="slack-events"),
]
