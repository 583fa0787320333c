"""POST /slack/events: verify, answer fast, let a job do the work."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from pii.events import event_receive

logger = logging.getLogger("pii.events")


def signature_valid(body: bytes, headers: dict[str, str] | object) -> bool:
    """Slack's v0 HMAC over "v0:{timestamp}:{body}"; timestamps older than 5 minutes fail."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        logger.error("SLACK_SIGNING_SECRET is not set: refusing every Slack request")
        return False
    return SignatureVerifier(secret).is_valid(
        body=body,
        timestamp=headers.get("X-Slack-Request-Timestamp") or "",  # type: ignore[union-attr]
        signature=headers.get("X-Slack-Signature") or "",
    )  # type: ignore[union-attr]


@csrf_exempt
@require_POST
def slack_events(request: HttpRequest) -> HttpResponse:
    body = request.body
    if not signature_valid(body, request.headers):
        # Never the body: it may hold exactly the PII this service exists to remove.
        logger.warning(
            "slack signature invalid",
            extra={
                "fields": {
                    "remote": request.META.get("REMOTE_ADDR", ""),
                    "length": len(body),
                    "has_timestamp": "X-Slack-Request-Timestamp" in request.headers,
                }
            },
        )
        return HttpResponse("invalid signature", status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponse("not JSON", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("not an event", status=400)
    if payload.get("type") == "url_verification":
        return JsonResponse({"challenge": payload.get("challenge", "")})
    if payload.get("type") == "event_callback":
        event_receive(payload=payload, retry_num=request.headers.get("X-Slack-Retry-Num"))
    return HttpResponse(status=200)
