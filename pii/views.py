"""POST /slack/events: verify, answer fast, let a job do the work."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pii.events import event_receive

logger = logging.getLogger("pii.events")


MAX_SKEW = 5 * 60  # Slack: reject requests whose timestamp is more than five minutes off


def signature_valid(body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's v0 HMAC-SHA256 over b"v0:{timestamp}:" + the raw body bytes.

    Computed here over bytes rather than with slack_sdk's verifier, which decodes the body as
    UTF-8 and int()s the timestamp: a missing, non-numeric or non-ASCII header or a body that
    is not UTF-8 would raise (500) instead of being refused (401)."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        logger.error("SLACK_SIGNING_SECRET is not set: refusing every Slack request")
        return False
    ts = headers.get("X-Slack-Request-Timestamp") or ""
    sig = headers.get("X-Slack-Signature") or ""
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12) or not SIGNATURE.fullmatch(sig):
        return False
    if abs(time.time() - int(ts)) > MAX_SKEW:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sig[3:])


SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


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
        payload = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return HttpResponse("not JSON", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("not an event", status=400)
    if payload.get("type") == "url_verification":
        return JsonResponse({"challenge": payload.get("challenge", "")})
    if payload.get("type") == "event_callback":
        try:
            event_receive(payload=payload, retry_num=request.headers.get("X-Slack-Retry-Num"))
        except Exception as exc:
            # Nothing was kept (one transaction): Slack retries a non-2xx, and the retry is new.
            logger.error(
                "slack event not recorded",
                extra={
                    "fields": {"event_id": str(payload.get("event_id"))[:64], "error": type(exc).__name__}
                },
            )
            return HttpResponse("try again", status=503)
    return HttpResponse(status=200)
