"""Attachments (issue 14): the reference a record keeps to a file, the generic add/remove
mutations, and the upload protocol's bodies (docs/protocol.md, "Attachments").

A file is named by the SHA-256 of its bytes and nothing else: no file name, so no
personal data in it. A record refers to files with ``attachments: list[AttachmentRef]``;
the file itself travels beside the mutation queue (``POST``/``PATCH /api/v1/files``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.text import exact

Sha256 = Annotated[str, msgspec.Meta(pattern=exact(r"[0-9a-f]{64}"),
                                     description="SHA-256 of the file's bytes, 64 lowercase hex")]
MediaType = Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
"""The only types a file may have (sniffed from its bytes when the upload completes)."""
AttachmentKind = Literal["photo", "invoice", "document"]
MAX_ATTACHMENTS = 20
"""Files one record may refer to."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest ``size`` the wire accepts at all; the server's setting
``attachment_max_bytes`` (default 10 MiB) is the real limit."""


class AttachmentRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A record's reference to one file. ``public``: shown on the record's public page
    (only when the record itself is public)."""

    sha256: Sha256
    media_type: MediaType
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_FILE_BYTES)]
    kind: AttachmentKind = "photo"
    public: bool = False


Attachments = Annotated[list[AttachmentRef], msgspec.Meta(max_length=MAX_ATTACHMENTS)]
RecordTypeName = Annotated[str, msgspec.Meta(pattern=exact(r"[a-z_]{1,32}"))]
RecordId = Annotated[str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9:_-]{1,64}"))]


class AttachmentAddArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Refer a record to more files (a file it already refers to is updated: kind, public)."""

    record_type: RecordTypeName
    record_id: RecordId
    attachments: Annotated[list[AttachmentRef], msgspec.Meta(min_length=1, max_length=MAX_ATTACHMENTS)]


class AttachmentRemoveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Drop a record's reference to one file (removing one it does not hold changes nothing)."""

    record_type: RecordTypeName
    record_id: RecordId
    sha256: Sha256


# -- the upload protocol (HTTP bodies, not mutations) -----------------------------------------


class UploadStart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/v1/files``: start or resume an upload."""

    sha256: Sha256
    size: Annotated[int, msgspec.Meta(ge=1)]
    media_type: str


class UploadState(msgspec.Struct, frozen=True):
    """What the server holds of a file: ``received`` bytes of ``size``; ``complete`` once
    every byte arrived and checked (then ``received == size``). ``media_type`` is the
    declared type until the upload completes, then the sniffed one."""

    sha256: str
    size: int
    media_type: str
    received: int
    complete: bool
    chunk_size: int


__all__ = [
    "MAX_ATTACHMENTS",
    "AttachmentAddArgs",
    "AttachmentKind",
    "AttachmentRef",
    "AttachmentRemoveArgs",
    "Attachments",
    "MediaType",
    "Sha256",
    "UploadStart",
    "UploadState",
]
