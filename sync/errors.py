"""Every error the engine raises, in one place (the httpx ``_exceptions`` habit).

SyncError
├── ProtocolError          a whole request is refused: an HTTP 4xx, nothing written
│   ├── MutationGap        409: the first new id is beyond last_mutation_id + 1
│   └── ProtocolTooOld     426
├── Overloaded             503/429 with Retry-After: the server sheds load
└── Rejected               one mutation is refused: recorded, acknowledged, never retried
"""

from __future__ import annotations

from typing import Any

from schemas.wire import Message


class SyncError(Exception):
    """Base of everything the sync engine raises on purpose."""


class ProtocolError(SyncError):
    """A request refused as a whole; ``status`` is its HTTP status."""

    def __init__(
        self, status: int, code: str, zh: str, en: str, **extra: Any
    ) -> None:
        super().__init__(f"{status} {code}: {en}")
        self.status = status
        self.code = code
        self.message = Message(zh=zh, en=en)
        self.extra = extra


class MutationGap(ProtocolError):
    def __init__(self, expected: int) -> None:
        super().__init__(
            409,
            "mutation_gap",
            f"变更编号不连续,服务器期待编号 {expected}",
            f"mutation ids have a gap; the server expects id {expected}",
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


class Overloaded(SyncError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"overloaded, retry after {retry_after}s")
        self.retry_after = retry_after


class Rejected(SyncError):
    """Raised by a mutator: the mutation is refused for a domain or permission reason.

    ``field`` names the offending argument, so a phone can point at it."""

    def __init__(self, code: str, zh: str, en: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.message = Message(zh=zh, en=en)
        self.field = field


def forbidden(what_zh: str, what_en: str) -> Rejected:
    return Rejected("forbidden", f"无权限:{what_zh}", f"not allowed: {what_en}")


def already_exists(kind_zh: str, kind_en: str, ident: str, field: str = "id") -> Rejected:
    return Rejected("already_exists", f"{kind_zh}编号已存在:{ident}", f"{kind_en} already exists: {ident}",
                    field=field)


def not_found(kind_zh: str, kind_en: str, ident: str, field: str | None = None) -> Rejected:
    return Rejected(
        "not_found", f"找不到{kind_zh}:{ident}", f"no such {kind_en}: {ident}", field=field
    )
