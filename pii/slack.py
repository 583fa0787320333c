"""The Slack Web API, behind five functions. The WebClient is made lazily (per token and
SLACK_API_URL, so tests can point it at a local server) and Slack's errors come out as ours:

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
            code, f"Slack rejected the bot token ({code}): check SLACK_BOT_TOKEN and the app's installation"
        )


class SlackTransientError(SlackError):
    pass


class FileTooLarge(SlackError):
    pass


_clients: dict[tuple[str, str], WebClient] = {}
_lock = threading.Lock()


def bot_token(team_id: str = "") -> str:
    """The bot token, read in the worker only (never passed in job arguments)."""
    token = settings.SLACK_BOT_TOKEN
    if not token:
        raise SlackAuthError("not_authed")
    return token


def client(team_id: str = "") -> WebClient:
    token, base = bot_token(team_id), settings.SLACK_API_URL
    key = (token, base)
    with _lock:
        if key not in _clients:
            _clients[key] = WebClient(token=token, base_url=base, timeout=10, retry_handlers=[])
        return _clients[key]


def _call(method: str, **kwargs: object) -> dict:
    try:
        return getattr(client(), method)(**kwargs).data
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


def message_delete(*, channel: str, ts: str) -> None:
    _call("chat_delete", channel=channel, ts=ts)


def ephemeral_post(*, channel: str, user: str, text: str) -> None:
    _call("chat_postEphemeral", channel=channel, user=user, text=text)


def dm_post(*, user: str, text: str) -> None:
    """A direct message from the bot: the fallback when an ephemeral cannot be shown."""
    opened = _call("conversations_open", users=user)
    _call("chat_postMessage", channel=opened["channel"]["id"], text=text)


def file_delete(*, file_id: str) -> None:
    _call("files_delete", file=file_id)


def file_download(*, url: str, max_bytes: int) -> bytes:
    """A file's bytes via url_private with the bot token, at most `max_bytes`."""
    host = urlsplit(url).hostname or ""
    allowed = set(settings.PII_FILE_ALLOWED_HOSTS) | {urlsplit(settings.SLACK_API_URL).hostname}
    if host not in allowed:
        raise SlackError("host_not_allowed", f"file host {host!r} is not in PII_FILE_ALLOWED_HOSTS")
    headers = {"Authorization": f"Bearer {bot_token()}"}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=(5, 30)) as resp:
            if resp.status_code == 429:
                raise SlackRateLimited(_retry_after(dict(resp.headers)))
            if resp.status_code in (401, 403):
                raise SlackAuthError("invalid_auth")
            if resp.status_code == 404:
                raise SlackNotFound("file_not_found")
            if resp.status_code >= 500:
                raise SlackTransientError(f"http_{resp.status_code}")
            if resp.status_code != 200:
                raise SlackError(f"http_{resp.status_code}")
            data = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise FileTooLarge("too_large", f"file is over {max_bytes} bytes")
            return bytes(data)
    except requests.RequestException as exc:
        raise SlackTransientError("network", f"file download failed: {type(exc).__name__}") from None
