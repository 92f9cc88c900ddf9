"""Encode and decode the 64-bit, time-sortable IDs that ``next_id()`` makes in every schema.

Layout, high to low: 41 bits of milliseconds since ``EPOCH_MS``, 13 bits of logical shard,
10 bits of sequence. The shard is read from an ID with a shift and a mask; no lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

EPOCH_MS = 1_286_323_200_000  # 2010-10-06T00:00:00Z, the day Instagram launched
TIME_BITS = 41
SHARD_BITS = 13
SEQUENCE_BITS = 10
MAX_LOGICAL_SHARDS = 1 << SHARD_BITS
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
SHARD_MASK = MAX_LOGICAL_SHARDS - 1
MAX_MILLIS = (1 << TIME_BITS) - 1
# IDs below this carry no time or shard bits: imported or legacy media, routed by the map.
FIRST_SHARDED_ID = 1 << (SHARD_BITS + SEQUENCE_BITS)


@dataclass(frozen=True, slots=True)
class DecodedId:
    """The three fields packed into one ID."""

    millis: int
    shard: int
    sequence: int

    @property
    def created_at(self) -> datetime:
        """Return the wall-clock time the ID was issued, in UTC."""
        return datetime.fromtimestamp((self.millis + EPOCH_MS) / 1000, tz=UTC)


def unix_seconds_of_id(object_id: int) -> int:
    """Return the Unix second an ID was issued in (what v1's ``created_time`` shows)."""
    return (EPOCH_MS + (object_id >> (SHARD_BITS + SEQUENCE_BITS))) // 1000


def compose_id(*, millis: int, shard: int, sequence: int) -> int:
    """Pack milliseconds since the epoch, a logical shard and a sequence into one ID."""
    if not 0 <= millis <= MAX_MILLIS:
        raise ValueError(f"millis {millis} outside 0..{MAX_MILLIS}")
    if not 0 <= shard <= SHARD_MASK:
        raise ValueError(f"shard {shard} outside 0..{SHARD_MASK}")
    if not 0 <= sequence <= SEQUENCE_MASK:
        raise ValueError(f"sequence {sequence} outside 0..{SEQUENCE_MASK}")
    return (millis << (SHARD_BITS + SEQUENCE_BITS)) | (shard << SEQUENCE_BITS) | sequence


def decode_id(object_id: int) -> DecodedId:
    """Split an ID into its milliseconds, logical shard and sequence."""
    if not 0 <= object_id < 1 << 63:
        raise ValueError(f"{object_id} is not a positive 64-bit ID")
    return DecodedId(
        millis=object_id >> (SHARD_BITS + SEQUENCE_BITS),
        shard=(object_id >> SEQUENCE_BITS) & SHARD_MASK,
        sequence=object_id & SEQUENCE_MASK,
    )


def shard_of_id(object_id: int) -> int:
    """Return the logical shard encoded in an ID."""
    return (object_id >> SEQUENCE_BITS) & SHARD_MASK


def has_shard_bits(object_id: int) -> bool:
    """Tell whether an ID was made by ``next_id()`` (and so routes by its own bits)."""
    return object_id >= FIRST_SHARDED_ID


def first_id_at(moment: datetime) -> int:
    """Return the smallest ID any shard can issue at ``moment`` (for time-bounded queries)."""
    millis = int(moment.timestamp() * 1000) - EPOCH_MS
    return compose_id(millis=max(0, min(millis, MAX_MILLIS)), shard=0, sequence=0)
