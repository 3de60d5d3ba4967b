"""Global IDs ("Type:id" in base64, the Relay convention) in arguments."""

from __future__ import annotations

from collections.abc import Callable

from strawberry import relay

from app.core.errors import ValidationFailed

_MAX_ID = 2**63 - 1


def decode_id(value: str, type_name: str, *, field: str) -> int:
    """The database id inside a global ID of `type_name`; VALIDATION_ERROR (naming `field`)
    for anything else: bad base64, another type, a non-integer id."""
    try:
        return id_decoder(type_name)(value)
    except ValueError as error:
        raise ValidationFailed(f"`{field}` {error}", field=field) from None


def decode_ids(values: list[str], type_name: str, *, field: str, max_items: int) -> list[int]:
    if len(values) > max_items:
        raise ValidationFailed(f"`{field}` takes at most {max_items} IDs", field=field)
    return [decode_id(value, type_name, field=f"{field}.{i}") for i, value in enumerate(values)]


def encode_id(type_name: str, node_id: int) -> str:
    return str(relay.GlobalID(type_name=type_name, node_id=str(node_id)))


def id_decoder(type_name: str) -> Callable[[object], int]:
    """A Pydantic `BeforeValidator` turning a global ID of `type_name` into its id (the
    error lands at the right place in `extensions.errors`)."""

    def decode(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already decoded (server-side callers)
        if not isinstance(value, str):
            raise ValueError(f"must be a {type_name} ID")
        try:
            global_id = relay.GlobalID.from_id(value)
        except ValueError:
            raise ValueError("is not a valid ID") from None
        node_id = global_id.node_id
        if global_id.type_name != type_name or not node_id.isdigit() or int(node_id) > _MAX_ID:
            raise ValueError(f"is not a {type_name} ID")
        return int(node_id)

    return decode
