from django.urls import path

from pii.oauth import slack_install, slack_install_confirm, slack_oauth_redirect
from pii.views import slack_events

urlpatterns = [
    path("slack/events", slack_events, name="slack-events"),
    path("slack/install", slack_install, name="slack-install"),
    path("slack/install/confirm", slack_install_confirm, name="slack-install-confirm"),
    path("slack/oauth_redirect", slack_oauth_redirect, name="slack-oauth-redirect"),
]
