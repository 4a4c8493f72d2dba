"""Every error the engine and its Python client raise, in one place (the httpx
``_exceptions`` habit).

SyncError
├── ProtocolError          a whole request is refused: an HTTP 4xx, nothing written
│   │                      (the client also raises it for an answer that breaks the contract)
│   ├── MutationGap        409: the first new id is beyond last_mutation_id + 1
│   └── ProtocolTooOld     426
├── TransientError         the same request may succeed later: the client retries it
│   ├── Overloaded         503/429 with Retry-After: the server sheds load
│   └── ServerError        any other 5xx, as the client sees it
└── Rejected               one mutation is refused: recorded, acknowledged, never retried

``httpx.TransportError`` (connection refused, timeouts, a lost response) reaches a client
caller unchanged and is transient too.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.wire import ErrorBody, Message


class SyncError(Exception):
    """Base of everything the sync engine raises on purpose."""


class ProtocolError(SyncError):
    """A request refused as a whole; ``status`` is its HTTP status. Not retried: the same
    request would be refused the same way."""

    def __init__(
        self, status: int, code: str, zh: str, en: str, *, body: str = "", **extra: Any
    ) -> None:
        super().__init__(f"{status} {code}: {en}")
        self.status = status
        self.code = code
        self.message = Message(zh=zh, en=en)
        self.extra = extra
        self.body = body
        """The answer as the client received it (empty on the server)."""

    @classmethod
    def from_answer(cls, status: int, body: str) -> ProtocolError:
        """What a client makes of a refusal: the contract's error body when there is one."""
        error = _error_body(body)
        if error is None:
            return cls(status, "bad_answer", "服务器的回答不符合协议", f"sync request refused: {body[:500]}",
                       body=body)
        return cls(status, error.code, error.message.zh, error.message.en, body=body,
                   expected=error.expected, field=error.field)

    @property
    def error(self) -> ErrorBody | None:
        """The contract's error body the client received, if the server sent one."""
        return _error_body(self.body)


def _error_body(body: str) -> ErrorBody | None:
    try:
        return msgspec.json.decode(body, type=ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class MutationGap(ProtocolError):
    """The server expects id ``expected`` first. Not retried: re-sending the same batch
    can only get the same answer."""

    def __init__(self, expected: int | None, body: str = "") -> None:
        super().__init__(
            409,
            "mutation_gap",
            f"变更编号不连续,服务器期待编号 {expected}",
            f"mutation ids have a gap; the server expects id {expected}",
            body=body,
            expected=expected,
        )
        self.expected = expected


class ProtocolTooOld(ProtocolError):
    def __init__(self, minimum: int) -> None:
        super().__init__(
            426,
            "protocol_too_old",
            f"应用版本过旧,请更新(需要协议 {minimum})",
            f"this app is too old; please update (protocol {minimum} required)",
        )


class TransientError(SyncError):
    """The request may succeed later unchanged; safe to retry because pushes are idempotent."""


class Overloaded(TransientError):
    """The server shed load (429/503); wait at least ``retry_after`` seconds."""

    def __init__(self, retry_after: float, status: int = 503) -> None:
        super().__init__(f"server busy ({status}); retry after {retry_after:g}s")
        self.retry_after = retry_after
        self.status = status


class ServerError(TransientError):
    """A 5xx other than 503, as the client sees it: probably a server fault or restart."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"server error {status}: {body[:200]}")
        self.status = status
        self.body = body


class Rejected(SyncError):
    """Raised by a mutator: the mutation is refused for a domain or permission reason.

    ``field`` names the offending argument, so a phone can point at it."""

    def __init__(self, code: str, zh: str, en: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.message = Message(zh=zh, en=en)
        self.field = field


def client_not_yours() -> ProtocolError:
    return ProtocolError(
        403, "client_not_yours", "此设备编号属于另一个令牌", "this client_id belongs to another device token"
    )


def forbidden(what_zh: str, what_en: str) -> Rejected:
    return Rejected("forbidden", f"无权限:{what_zh}", f"not allowed: {what_en}")


def already_exists(kind_zh: str, kind_en: str, ident: str, field: str = "id") -> Rejected:
    return Rejected("already_exists", f"{kind_zh}编号已存在:{ident}", f"{kind_en} already exists: {ident}",
                    field=field)


def not_found(kind_zh: str, kind_en: str, ident: str, field: str | None = None) -> Rejected:
    return Rejected(
        "not_found", f"找不到{kind_zh}:{ident}", f"no such {kind_en}: {ident}", field=field
    )
