"""Global IDs ("Type:id" in base64, the Relay convention) in arguments."""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable

from strawberry import relay

from app.core.errors import ValidationFailed

_MAX_ID = 2**63 - 1
MAX_ID_LENGTH = 100  # far above any ID this API hands out


def decode_id(value: str, type_name: str, *, field: str) -> int:
    """The database id inside a global ID of `type_name`; VALIDATION_ERROR (naming `field`)
    for anything else: bad base64, another type, a non-integer id."""
    try:
        return id_decoder(type_name)(value)
    except ValueError as error:
        raise ValidationFailed(f"`{field}` {error}", field=field) from None


def encode_id(type_name: str, node_id: int) -> str:
    """What `str(relay.GlobalID(type_name, str(node_id)))` gives, without building the
    object and checking its types (a catalog page encodes about 80 IDs)."""
    return b2a_base64(f"{type_name}:{node_id}".encode(), newline=False).decode()


def id_decoder(type_name: str) -> Callable[[object], int]:
    """A Pydantic `BeforeValidator` turning a global ID of `type_name` into its id (the
    error lands at the right place in `extensions.errors`)."""

    def decode(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already decoded (server-side callers)
        if not isinstance(value, str):
            raise ValueError(f"must be a {type_name} ID")
        parsed = parse_global_id(value)
        if parsed is None:
            raise ValueError("is not a valid ID")
        if parsed[0] != type_name:
            raise ValueError(f"is not a {type_name} ID")
        return parsed[1]

    return decode


def parse_global_id(value: str) -> tuple[str, int] | None:
    """(type name, database id) of a well-formed global ID, else None: not base64, no
    "Type:id" inside, or an id that isn't a plain ASCII number that fits a bigint ("²" is
    a digit to Python but not to `int()`)."""
    if len(value) > MAX_ID_LENGTH:
        return None
    try:
        global_id = relay.GlobalID.from_id(value)
    except ValueError:
        return None
    node_id = global_id.node_id
    if not (node_id.isascii() and node_id.isdigit() and int(node_id) <= _MAX_ID):
        return None
    return global_id.type_name, int(node_id)
