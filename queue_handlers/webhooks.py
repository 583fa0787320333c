"""Webhook delivery: refuse internal targets, sign the body, send to the address we checked.

The host is resolved once, every address checked, and the request is sent to that address (TLS
still verifies the host name), so DNS cannot swap in an internal address between the check and
the connection. Redirects are not followed. IPv6 forms that embed an IPv4 address (IPv4-mapped
::ffff:0:0/96, 6to4 2002::/16, Teredo 2001::/32, NAT64 64:ff9b::/96) are judged by the IPv4
they lead to. The answer is read with a byte cap (WEBHOOK_MAX_RESPONSE_BYTES) and a total
deadline: a hostile target cannot push an unbounded or endless body into a worker's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

from queue_handlers.base import PermanentJobError, TransientJobError

SIGNATURE_HEADER = "X-Webhook-Signature"
ID_HEADER = "X-Webhook-Id"


class WebhookRefused(PermanentJobError):
    """The target is not allowed (internal address, bad scheme, no signing secret)."""


class WebhookRejected(PermanentJobError):
    """The target answered 4xx (or 3xx): sending again would get the same answer."""


class WebhookUnavailable(TransientJobError):
    """Timeout, connection failure or 5xx: retried with backoff."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, body): receivers recompute it over the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def host_allowed(host: str) -> bool:
    return host.lower() in {h.lower() for h in settings.WEBHOOK_ALLOWED_HOSTS}


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 is the last 32 bits
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a site's own translator
_CHECKS = ("is_loopback", "is_link_local", "is_private", "is_reserved", "is_multicast", "is_unspecified")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address leads to, by the embedding that carries them."""
    if ip.ipv4_mapped:
        return [("ipv4-mapped", ip.ipv4_mapped)]
    if ip.sixtofour:
        return [("6to4", ip.sixtofour)]
    if ip.teredo:
        server, client = ip.teredo
        return [("teredo-server", server), ("teredo-client", client)]
    if ip in NAT64_WELL_KNOWN:
        return [("nat64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    return []


def _forbidden_plain(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for attr in _CHECKS:
        if getattr(ip, attr):
            return attr.removeprefix("is_").replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not be called, or None when it is a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return "nat64-local-use"
        embedded = embedded_ipv4(ip)
        for kind, v4 in embedded:
            if why := _forbidden_plain(v4):
                return f"{kind}-embedded {why} ({v4})"
        if embedded and embedded[0][0] in ("ipv4-mapped", "6to4", "nat64"):
            return None  # the packet goes to that public IPv4: judged by it alone
    return _forbidden_plain(ip)


def check_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of a URL we may call, without DNS (used at enqueue too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("webhook url must be http(s)://host/...")
    if parts.username or parts.password:
        raise WebhookRefused("webhook url must not carry credentials")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("webhook url has an invalid port") from None
    if not host_allowed(host):
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and (why := forbidden_address(literal)):
            raise WebhookRefused(f"webhook target {host} is a {why} address")
    path = parts.path or "/"
    return parts.scheme, host, port, path + (f"?{parts.query}" if parts.query else "")


def resolve(url: str) -> Target:
    """Resolve the host; refuse when any address is internal, unless the host is allowed."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookUnavailable(f"cannot resolve webhook host: {exc.strerror}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not host_allowed(host):
        for addr in addresses:
            why = forbidden_address(ipaddress.ip_address(addr.split("%")[0]))
            if why:
                raise WebhookRefused(
                    f"webhook target {host} resolves to a {why} address; "
                    "add the host to WEBHOOK_ALLOWED_HOSTS if it is meant to be called"
                )
    return Target(scheme, host, port, path, addresses[0])


def deliver(
    *, url: str, body: bytes, method: str, headers: dict[str, str], timeout: float, delivery_id: str
) -> int:
    """Send a signed request; returns the 2xx status, else raises Rejected/Unavailable."""
    secret = settings.WEBHOOK_SIGNING_SECRET
    if not secret:
        raise WebhookRefused("WEBHOOK_SIGNING_SECRET is not set; webhooks are sent signed only")
    target = resolve(url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    send_headers = {
        **headers,
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": "tasksvc-webhooks/1",
        SIGNATURE_HEADER: sign(body, secret),
        ID_HEADER: delivery_id,
    }
    pool_kw = {
        "host": target.address,
        "port": target.port,
        "retries": False,
        "timeout": urllib3.Timeout(connect=min(timeout, 10), read=timeout),
        "maxsize": 1,
    }
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **pool_kw,  # type: ignore[arg-type]
        )
    else:
        pool = urllib3.HTTPConnectionPool(**pool_kw)  # type: ignore[arg-type]
    try:
        resp = pool.urlopen(
            method,
            target.path,
            body=body,
            headers=send_headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,  # streamed: read_capped decides how much is read
        )
        try:
            read_capped(resp, limit=settings.WEBHOOK_MAX_RESPONSE_BYTES, deadline=time.monotonic() + timeout)
        finally:
            resp.close()  # never drain what is left: the connection is dropped
    except (
        urllib3.exceptions.TimeoutError,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.NewConnectionError,
        urllib3.exceptions.DecodeError,
        OSError,
    ) as exc:
        raise WebhookUnavailable(f"{type(exc).__name__} delivering webhook") from None
    finally:
        pool.close()
    if resp.status >= 500:
        raise WebhookUnavailable(f"webhook target answered {resp.status}")
    if resp.status >= 300:
        raise WebhookRejected(f"webhook target answered {resp.status}; not retried")
    return resp.status


def read_capped(resp: urllib3.BaseHTTPResponse, *, limit: int, deadline: float, chunk: int = 8192) -> int:
    """Read (and drop) at most `limit` bytes of the body before `deadline`; returns the bytes
    read. Past either bound the rest is never read: the connection is closed with the pool,
    and the status line alone decides the outcome."""
    got = 0
    while got < limit and time.monotonic() < deadline:
        data = resp.read1(min(chunk, limit - got), decode_content=False)  # what has arrived, no more
        if not data:
            break
        got += len(data)
    return got
