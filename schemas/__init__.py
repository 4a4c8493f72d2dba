"""Wire messages of the sync contract (protocol v1) and every mutation's args.

Only msgspec is imported here, so phones' contract, the server and the Python
client share one definition. ``schemas.export.contract_schema`` turns all of it
into the JSON Schema served at ``GET /api/v1/sync/schema``.
"""

from schemas.mutations import (
    ConflictResolveArgs,
    EventCreateArgs,
    EventDeleteArgs,
    EventFields,
    EventUpdateArgs,
    StationCreateArgs,
    StationFields,
    StationUpdateArgs,
)
from schemas.records import ConflictRecord, EventRecord, StationRecord, SyncIssueRecord
from schemas.wire import (
    PROTOCOL_VERSION,
    Change,
    ErrorBody,
    Message,
    Mutation,
    MutationResult,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)

__all__ = [
    "PROTOCOL_VERSION",
    "Change",
    "ConflictRecord",
    "ConflictResolveArgs",
    "ErrorBody",
    "EventCreateArgs",
    "EventDeleteArgs",
    "EventFields",
    "EventRecord",
    "EventUpdateArgs",
    "Message",
    "Mutation",
    "MutationResult",
    "PullRequest",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "StationCreateArgs",
    "StationFields",
    "StationRecord",
    "StationUpdateArgs",
    "SyncIssueRecord",
]
