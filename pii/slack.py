"""The Slack Web API, behind a few functions. Tokens come from the caller (pii.installations
resolves them per workspace; none is ever a job argument). The WebClient is made lazily (per
token and SLACK_API_URL, so tests can point it at a local server) and Slack's errors come out as ours:

- SlackRateLimited(retry_after): HTTP 429 / "ratelimited" - retry after that many seconds
- SlackNotFound: message_not_found, file_not_found … - the thing is already gone
- SlackAuthError: the token is bad (invalid_auth, not_authed, token_revoked, account_inactive …)
  - nothing will work until an operator fixes it; never retried
- SlackTransientError: network errors and 5xx - retried with backoff
- SlackError: any other refusal (cant_delete_message, channel_not_found …) - permanent

Error messages carry Slack's error code only, never a request or response body.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from urllib.error import URLError
from urllib.parse import urlsplit

import requests
from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger("pii.slack")

AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "account_inactive",
        "token_expired",
        "no_permission",
        "org_login_required",
        "ekm_access_denied",
    }
)
NOT_FOUND_ERRORS = frozenset({"message_not_found", "file_not_found", "file_deleted"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        super().__init__(message or f"Slack refused the call: {code}")


class SlackRateLimited(SlackError):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__("ratelimited", f"Slack rate limit: retry after {retry_after:g}s")


class SlackNotFound(SlackError):
    pass


class SlackAuthError(SlackError):
    def __init__(self, code: str) -> None:
        super().__init__(
            code, f"Slack rejected the token ({code}): check SLACK_BOT_TOKEN or reinstall via /slack/install"
        )


class SlackTransientError(SlackError):
    pass


class FileTooLarge(SlackError):
    pass


class FileRefused(SlackError):
    """The file could not be fetched as itself (an HTML page, a redirect, the wrong content type,
    plain http): the scan fails closed, it is never reported clean."""


_clients: dict[tuple[str, str], WebClient] = {}
_lock = threading.Lock()


def client(token: str) -> WebClient:
    if not token:
        raise SlackAuthError("not_authed")
    base = settings.SLACK_API_URL
    key = (token, base)
    with _lock:
        if key not in _clients:
            _clients[key] = WebClient(token=token, base_url=base, timeout=10, retry_handlers=[])
        return _clients[key]


def _call(token: str, method: str, **kwargs: object) -> dict:
    try:
        return getattr(client(token), method)(**kwargs).data
    except SlackApiError as exc:
        raise _translate(exc) from None
    except (URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise SlackTransientError("network", f"Slack unreachable: {type(exc).__name__}") from None


def _translate(exc: SlackApiError) -> SlackError:
    resp = exc.response
    status = getattr(resp, "status_code", 200)
    code = str((resp.get("error") if resp is not None else "") or f"http_{status}")
    if status == 429 or code == "ratelimited":
        return SlackRateLimited(_retry_after(getattr(resp, "headers", {}) or {}))
    if code in AUTH_ERRORS:
        return SlackAuthError(code)
    if code in NOT_FOUND_ERRORS:
        return SlackNotFound(code)
    if status >= 500 or code in TRANSIENT_ERRORS:
        return SlackTransientError(code)
    return SlackError(code)


def _retry_after(headers: dict) -> float:
    for k, v in headers.items():
        if k.lower() == "retry-after":
            try:
                return max(float(v if isinstance(v, str) else v[0]), 0.0)
            except (TypeError, ValueError, IndexError):
                break
    return 1.0


def message_delete(*, user_token: str, channel: str, ts: str) -> None:
    """With an admin's user token: Slack lets a bot token delete only the bot's own messages."""
    if not user_token:
        raise SlackError("no_admin_token")
    _call(user_token, "chat_delete", channel=channel, ts=ts)


def file_delete(*, user_token: str, file_id: str) -> None:
    if not user_token:
        raise SlackError("no_admin_token")
    _call(user_token, "files_delete", file=file_id)


def ephemeral_post(*, bot_token: str, channel: str, user: str, text: str) -> None:
    _call(bot_token, "chat_postEphemeral", channel=channel, user=user, text=text)


def dm_post(*, bot_token: str, user: str, text: str) -> None:
    """A direct message from the bot: the fallback when an ephemeral cannot be shown."""
    opened = _call(bot_token, "conversations_open", users=user)
    _call(bot_token, "chat_postMessage", channel=opened["channel"]["id"], text=text)


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
HTML_START = (b"<!doctype html", b"<html", b"<head", b"<!--")


def file_chunks(*, bot_token: str, url: str, max_bytes: int, mimetype: str) -> Iterator[bytes]:
    """A file's bytes via url_private, in chunks, at most `max_bytes`. Fails closed: the bot
    token goes only over https (plain http only to loopback, for tests) to an allowed host, no
    redirect is followed (a redirect means an expired URL or Slack's sign-in page), and an HTML
    page or a content type other than the file's is refused, never scanned as the file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    allowed = set(settings.PII_FILE_ALLOWED_HOSTS) | {urlsplit(settings.SLACK_API_URL).hostname}
    if host not in allowed:
        raise FileRefused("host_not_allowed", f"file host {host!r} is not in PII_FILE_ALLOWED_HOSTS")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
        raise FileRefused("not_https", "file URL is not https: the token is not sent")
    if not bot_token:
        raise SlackAuthError("not_authed")
    headers = {"Authorization": f"Bearer {bot_token}"}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=(5, 30), allow_redirects=False) as resp:
            _check_response(resp, mimetype)
            total, first = 0, True
            for chunk in resp.iter_content(64 * 1024):
                if first and not mimetype.lower().startswith("text/html"):
                    if chunk.lstrip()[:16].lower().startswith(HTML_START):
                        raise FileRefused("html_page", "Slack sent an HTML page, not the file")
                first = False
                total += len(chunk)
                if total > max_bytes:
                    raise FileTooLarge("too_large", f"file is over {max_bytes} bytes")
                yield chunk
    except requests.RequestException as exc:
        raise SlackTransientError("network", f"file download failed: {type(exc).__name__}") from None


def _check_response(resp: requests.Response, mimetype: str) -> None:
    status = resp.status_code
    if status == 429:
        raise SlackRateLimited(_retry_after(dict(resp.headers)))
    if 300 <= status < 400:
        raise FileRefused("redirect", f"Slack redirected the download (HTTP {status}): not followed")
    if status in (401, 403):
        raise SlackAuthError("invalid_auth")
    if status == 404:
        raise SlackNotFound("file_not_found")
    if status >= 500:
        raise SlackTransientError(f"http_{status}")
    if status != 200:
        raise SlackError(f"http_{status}")
    got = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    want = (mimetype or "").split(";")[0].strip().lower()
    if got == "text/html" and want != "text/html":
        raise FileRefused("html_page", "Slack sent an HTML page (sign-in?): does the token have files:read?")
    lenient = {want, "application/octet-stream", "text/plain"}
    if got and want and got not in lenient and got.split("/")[0] != want.split("/")[0]:
        raise FileRefused("content_type", f"content type {got!r} does not match the file's {want!r}")
