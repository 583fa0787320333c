"""A Slack Web API that enforces Slack's documented rules, at its HTTP boundary.

What it refuses, as Slack's method docs say (docs.slack.dev/reference/methods/…):
- every method: no token → not_authed; unknown → invalid_auth; revoked → token_revoked;
  a scope the token lacks → missing_scope (with "needed" and "provided").
- chat.delete: "When used with a bot token, this method may delete only messages posted by that
  bot"; with a user token only what that user may delete (their own, or anything for an admin
  or owner) → cant_delete_message; unknown ts → message_not_found; channel → channel_not_found.
- chat.postEphemeral: the user must be in the channel → user_not_in_channel.
- conversations.members: channels:read, and a bot outside the channel → not_in_channel.
- files.info / url_private: need files:read; a download without it gets Slack's HTML sign-in
  page (HTTP 200, text/html), a download without a token a redirect to it.
- files.delete: a bot only its own files, a user their own or (admin) any → cant_delete_file.
- rate limits: `ratelimit(method, retry_after)` makes the method answer HTTP 429 with
  Retry-After and {"ok": false, "error": "ratelimited"} until that many seconds have passed.
- oauth.v2.access: client id/secret and a single-use code (invalid_code when reused).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from werkzeug import Request, Response

SCOPES = {
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "conversations.open": "im:write",
    "files.info": "files:read",
    "files.delete": "files:write",
    "conversations.members": "channels:read",
    "users.info": "users:read",
}
SIGN_IN = (
    "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>"
)


@dataclass
class Token:
    kind: str  # "bot" or "user"
    user_id: str
    team_id: str
    scopes: set[str]
    is_admin: bool = False
    revoked: bool = False
    bot_id: str = ""


@dataclass
class File:
    owner: str
    content: bytes
    mimetype: str
    name: str


@dataclass
class Install:
    team_id: str
    team_name: str
    bot: str
    user: str | None
    bot_user_id: str
    installer: str


@dataclass
class FakeSlack:
    tokens: dict[str, Token] = field(default_factory=dict)
    channels: dict[str, set[str]] = field(default_factory=dict)
    messages: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, ts) -> author
    files: dict[str, File] = field(default_factory=dict)
    limited_until: dict[str, float] = field(default_factory=dict)
    failures: dict[str, list[Response]] = field(default_factory=dict)
    codes: dict[str, Install] = field(default_factory=dict)
    client_id: str = "1234.5678"
    client_secret: str = "client-secret"
    calls: list[tuple[str, dict, float, dict]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    posted: list[dict] = field(default_factory=list)

    def attach(self, httpserver) -> FakeSlack:
        httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(self._api)
        httpserver.expect_request(re.compile(r"^/files-pri/.*")).respond_with_handler(self._download)
        return self

    # -- set-up -------------------------------------------------------------------------
    def add_token(self, token: str, kind: str, user_id: str, team_id: str = "T0TEAM", **kw) -> None:
        default = (
            {
                "chat:write",
                "im:write",
                "files:read",
                "files:write",
                "channels:history",
                "channels:read",
                "users:read",
            }
            if kind == "bot"
            else {"chat:write", "files:write"}
        )
        self.tokens[token] = Token(kind, user_id, team_id, set(kw.pop("scopes", default)), **kw)

    def add_message(self, channel: str, ts: str, author: str) -> None:
        self.messages[(channel, ts)] = author

    def add_file(self, file_id: str, *, owner: str, content: bytes, mimetype: str, name: str) -> dict:
        self.files[file_id] = File(owner, content, mimetype, name)
        return {
            "id": file_id,
            "name": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(content),
        }

    def ratelimit(self, method: str, retry_after: float) -> None:
        self.limited_until[method] = time.monotonic() + retry_after

    def fail_next(self, method: str, response: Response) -> None:
        """A transient failure (a 5xx from Slack's edge), not a rule."""
        self.failures.setdefault(method, []).append(response)

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def methods(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -- the API ------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        data = dict(request.form) or (request.get_json(silent=True) or {})
        self.calls.append((method, data, time.monotonic(), dict(request.headers)))
        if self.failures.get(method):
            return self.failures[method].pop(0)
        until = self.limited_until.get(method, 0.0)
        if time.monotonic() < until:
            wait = max(1, int(until - time.monotonic() + 0.999))
            return _json(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(wait)}
            )
        if method == "oauth.v2.access":  # client credentials by HTTP Basic auth (preferred) or form
            auth = request.authorization
            if auth is not None and auth.type == "basic":
                data = {**data, "client_id": auth.username, "client_secret": auth.password}
            return self._oauth_access(data)
        token, error = self._auth(request, data)
        if error:
            return _json({"ok": False, "error": error})
        needed = SCOPES.get(method)
        if needed and needed not in token.scopes:
            provided = ",".join(sorted(token.scopes))
            return _json({"ok": False, "error": "missing_scope", "needed": needed, "provided": provided})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return _json(handler(token, data) if handler else {"ok": False, "error": "unknown_method"})

    def _auth(self, request: Request, data: dict) -> tuple[Token | None, str]:
        header = request.headers.get("Authorization", "")
        raw = (
            header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else data.get("token", "")
        )
        if not raw:
            return None, "not_authed"
        token = self.tokens.get(raw)
        if token is None:
            return None, "invalid_auth"
        if token.revoked:
            return None, "token_revoked"
        return token, ""

    def _auth_test(self, token: Token, data: dict) -> dict:
        out = {"ok": True, "team_id": token.team_id, "user_id": token.user_id}
        if token.kind == "bot":
            out["bot_id"] = token.bot_id or "B0BOT"
        return out

    def _may_delete(self, token: Token, owner: str) -> bool:
        if token.kind == "bot":
            return owner == token.user_id  # only what that bot posted
        return owner == token.user_id or token.is_admin

    def _chat_delete(self, token: Token, data: dict) -> dict:
        channel, ts = data.get("channel", ""), data.get("ts", "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        author = self.messages.get((channel, ts))
        if author is None:
            return {"ok": False, "error": "message_not_found"}
        if not self._may_delete(token, author):
            return {"ok": False, "error": "cant_delete_message"}
        del self.messages[(channel, ts)]
        self.deleted.append((channel, ts))
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_postEphemeral(self, token: Token, data: dict) -> dict:
        channel, user = data.get("channel", ""), data.get("user", "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if user not in self.channels[channel]:
            return {"ok": False, "error": "user_not_in_channel"}
        self.posted.append({"kind": "ephemeral", **data})
        return {"ok": True, "message_ts": f"{time.time():.6f}"}

    def _conversations_open(self, token: Token, data: dict) -> dict:
        return {"ok": True, "channel": {"id": "D" + data.get("users", "").split(",")[0]}}

    def _chat_postMessage(self, token: Token, data: dict) -> dict:
        self.posted.append({"kind": "message", **data})
        return {"ok": True, "channel": data.get("channel"), "ts": f"{time.time():.6f}"}

    def _conversations_members(self, token: Token, data: dict) -> dict:
        members = self.channels.get(data.get("channel", ""))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        if token.kind == "bot" and token.user_id not in members:
            return {"ok": False, "error": "not_in_channel"}
        return {"ok": True, "members": sorted(members), "response_metadata": {"next_cursor": ""}}

    def _users_info(self, token: Token, data: dict) -> dict:
        uid = data.get("user", "")
        known = {t.user_id: t for t in self.tokens.values() if t.kind == "user"}
        if uid not in known and uid not in {u for m in self.channels.values() for u in m}:
            return {"ok": False, "error": "user_not_found"}
        admin = known[uid].is_admin if uid in known else False
        return {"ok": True, "user": {"id": uid, "is_admin": admin, "is_owner": False}}

    def _files_info(self, token: Token, data: dict) -> dict:
        f = self.files.get(data.get("file", ""))
        if f is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": {"id": data["file"], "name": f.name, "mimetype": f.mimetype}}

    def _files_delete(self, token: Token, data: dict) -> dict:
        f = self.files.get(data.get("file", ""))
        if f is None:
            return {"ok": False, "error": "file_not_found"}
        if not self._may_delete(token, f.owner):
            return {"ok": False, "error": "cant_delete_file"}
        del self.files[data["file"]]
        return {"ok": True}

    def _oauth_access(self, data: dict) -> Response:
        if data.get("client_id") != self.client_id:
            return _json({"ok": False, "error": "invalid_client_id"})
        if data.get("client_secret") != self.client_secret:
            return _json({"ok": False, "error": "bad_client_secret"})
        install = self.codes.pop(data.get("code", ""), None)
        if install is None:
            return _json({"ok": False, "error": "invalid_code"})
        authed = {"id": install.installer}
        if install.user:
            authed.update(scope="chat:write,files:write", access_token=install.user, token_type="user")
        return _json(
            {
                "ok": True,
                "app_id": "A0APP",
                "access_token": install.bot,
                "token_type": "bot",
                "scope": "chat:write,im:write,files:read,files:write,channels:history",
                "bot_user_id": install.bot_user_id,
                "team": {"id": install.team_id, "name": install.team_name},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": authed,
            }
        )

    # -- url_private ----------------------------------------------------------------------
    def _download(self, request: Request) -> Response:
        file_id = request.path.split("/")[2]
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None or token.revoked:
            return Response("", status=302, headers={"Location": "/signin?redir=" + request.path})
        if "files:read" not in token.scopes:
            return Response(SIGN_IN, status=200, content_type="text/html; charset=utf-8")
        f = self.files.get(file_id)
        if f is None:
            return Response("not found", status=404)
        return Response(f.content, status=200, content_type=f.mimetype)


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
