"""Everything a member can post in one Slack message, as plain strings to scan.

Slack carries a message's words in several places: `text` (mrkdwn), `blocks` (rich_text for
what a person typed; section/context/header from apps and workflows), `attachments` (text,
pretext, fallback, title, fields, and blocks of their own), and files (names and titles; their
contents are fetched by a file job). Unfurls (attachments Slack adds for a link) are left out:
they are the linked page, not what the member wrote, and they arrive as an edit of the message.
"""

from __future__ import annotations

from typing import Any

ATTACHMENT_KEYS = ("pretext", "title", "text", "fallback", "author_name", "footer")
MAX_DEPTH = 8  # rich_text nests lists in lists; a hostile payload may nest forever


def message_parts(message: dict[str, Any]) -> list[str]:
    """The strings besides `text`, in reading order, without duplicates or empties."""
    parts: list[str] = []
    for block in _list(message.get("blocks")):
        _block(block, parts, 0)
    for att in _list(message.get("attachments")):
        if not isinstance(att, dict) or _is_unfurl(att):
            continue
        parts.extend(str(att[k]) for k in ATTACHMENT_KEYS if att.get(k))
        for field in _list(att.get("fields")):
            if isinstance(field, dict):
                parts.extend(str(field[k]) for k in ("title", "value") if field.get(k))
        for block in _list(att.get("blocks")) + _list(att.get("message_blocks")):
            _block(block.get("message", block) if isinstance(block, dict) else block, parts, 0)
    seen, out, text = set(), [], message.get("text") or ""
    for p in parts:
        p = p.strip()
        if p and p not in seen and p != text:
            seen.add(p)
            out.append(p)
    return out


def has_unfurls_only_change(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """message_changed that is Slack adding an unfurl (or a reaction, a reply count): what the
    member wrote is the same before and after."""
    return _signature(before) == _signature(after)


def _signature(msg: dict[str, Any]) -> tuple:
    return (msg.get("text") or "", tuple(message_parts(msg)), len(_list(msg.get("files"))))


def _is_unfurl(att: dict[str, Any]) -> bool:
    return bool(att.get("from_url") or att.get("is_app_unfurl") or att.get("app_unfurl_url"))


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _block(block: Any, parts: list[str], depth: int) -> None:
    if not isinstance(block, dict) or depth > MAX_DEPTH:
        return
    kind = block.get("type")
    if kind == "rich_text":
        for el in _list(block.get("elements")):
            _rich(el, parts, depth + 1)
    elif kind in ("section", "header", "context", "input", "actions"):
        _text_object(block.get("text"), parts)
        for field in _list(block.get("fields")):
            _text_object(field, parts)
        for el in _list(block.get("elements")):
            _text_object(el, parts)
            if isinstance(el, dict):
                _text_object(el.get("text"), parts)
    elif kind == "image":
        _text_object(block.get("title"), parts)
        if block.get("alt_text"):
            parts.append(str(block["alt_text"]))


def _text_object(obj: Any, parts: list[str]) -> None:
    if isinstance(obj, dict) and obj.get("type") in ("plain_text", "mrkdwn") and obj.get("text"):
        parts.append(str(obj["text"]))


def _rich(el: Any, parts: list[str], depth: int) -> None:
    """rich_text_section / _list / _quote / _preformatted → one string per container."""
    if not isinstance(el, dict) or depth > MAX_DEPTH:
        return
    if el.get("type") == "rich_text_list":
        for item in _list(el.get("elements")):
            _rich(item, parts, depth + 1)
        return
    pieces: list[str] = []
    for leaf in _list(el.get("elements")):
        if not isinstance(leaf, dict):
            continue
        kind = leaf.get("type")
        if kind == "text":
            pieces.append(str(leaf.get("text") or ""))
        elif kind == "link":
            url, label = str(leaf.get("url") or ""), str(leaf.get("text") or "")
            pieces.append(f"{label} {url}" if label and label != url else url)
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            _rich(leaf, parts, depth + 1)
    if pieces:
        parts.append("".join(pieces))
