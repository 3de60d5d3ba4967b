"""Validated account inputs: email normalisation, password policy, name limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, ValidationInfo, field_validator

from app.cart.schemas import MAX_TOKEN_LENGTH
from app.core.validation import SINGLE_LINE, bounded
from app.graphql.inputs import Input, graphql_input
from app.mail.links import TOKEN_MAX_LENGTH
from app.users.models import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH, UserRole

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


def normalise_email(value: str) -> str:
    return value.strip().lower()


Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(normalise_email)]
FullName = Annotated[str, bounded(FULL_NAME_MAX_LENGTH), SINGLE_LINE]
# Passwords are taken as typed (no trimming): spaces are legitimate characters in them.
Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
# What is *checked* against a stored hash only needs a bound, not the creation policy.
GivenPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


# A guest cart's token (tokens are 43 characters); an unknown one doesn't stop the sign-in.
CartToken = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
GUEST_CART_MERGE = (
    "The token of your guest cart (createGuestCart), to merge into the account's cart "
    "(see mergeGuestCart); one that opens no guest cart is a CART_TOKEN_INVALID warning on "
    "the payload's cart, not an error."
)


def _check_new_password(password: str, email: str | None) -> str:
    if not password.strip():
        raise ValueError("must not be only whitespace")
    if email is not None and password.strip().lower() == email:
        raise ValueError("must not be the email address")
    return password


# A password that replaces one (the account's email is checked by the service, which knows it).
NewPassword = Annotated[
    Password, AfterValidator(lambda password: _check_new_password(password, None))
]
REPLACEMENT_RULES = "The new password (8 to 128 characters, not only whitespace)."


class RegisterData(Input):
    email: Email = Field(
        description="Email address (at most 254 characters), compared case-insensitively."
    )
    password: Password = Field(
        description="8 to 128 characters, not only whitespace, not the email address."
    )
    full_name: FullName = Field(description="Your name (1 to 200 characters).")
    cart_token: CartToken | None = Field(default=None, description=GUEST_CART_MERGE)

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        return _check_new_password(password, info.data.get("email"))


@graphql_input(RegisterData, description="A new customer account.")
class RegisterInput: ...


class LoginData(Input):
    # Not validated as an email: a malformed one simply doesn't match any account, and
    # answering VALIDATION_ERROR would tell attackers which inputs are worth trying.
    email: Annotated[str, Field(min_length=1, max_length=EMAIL_MAX_LENGTH), SINGLE_LINE] = Field(
        description="The account's email address."
    )
    password: GivenPassword = Field(description="The account's password.")
    cart_token: CartToken | None = Field(default=None, description=GUEST_CART_MERGE)

    @field_validator("email")
    @classmethod
    def _normalise(cls, email: str) -> str:
        return normalise_email(email)


@graphql_input(LoginData, description="Credentials to sign in with.")
class LoginInput: ...


class UpdateMeData(Input):
    full_name: FullName | None = Field(default=None, description="New name (1 to 200 characters).")
    email: Email | None = Field(
        default=None,
        description="New email address (at most 254 characters); needs `currentPassword`.",
    )
    current_password: GivenPassword | None = Field(
        default=None, description="Your current password (for an email change)."
    )


@graphql_input(
    UpdateMeData,
    description="Changes to your profile; omitted fields stay as they are.",
    partial=True,
)
class UpdateMeInput: ...


class ChangePasswordData(Input):
    current_password: GivenPassword = Field(description="Your current password.")
    new_password: NewPassword = Field(description=REPLACEMENT_RULES)


@graphql_input(ChangePasswordData, description="A password change.")
class ChangePasswordInput: ...


# A token from an email link; an unknown one is ACCOUNT_TOKEN_INVALID, not a validation error.
EmailToken = Annotated[str, Field(min_length=1, max_length=TOKEN_MAX_LENGTH), SINGLE_LINE]
# Like sign-in, not validated as an email: a malformed one simply matches no account.
GivenEmail = Annotated[
    str,
    Field(min_length=1, max_length=EMAIL_MAX_LENGTH),
    SINGLE_LINE,
    AfterValidator(normalise_email),
]


class ResetPasswordData(Input):
    token: EmailToken = Field(
        description="The token of the password reset link (at most 256 characters), valid 30 "
        "minutes."
    )
    new_password: NewPassword = Field(description=REPLACEMENT_RULES)


@graphql_input(ResetPasswordData, description="A new password, with the token of a reset link.")
class ResetPasswordInput: ...


class NewAdminInput(Input):
    email: Email
    password: Password
    full_name: FullName

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        return _check_new_password(password, info.data.get("email"))


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request, as a snapshot (not an ORM object that a rollback
    could expire)."""

    id: int
    role: UserRole
    session_id: uuid.UUID | None
    email_verified: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request comes from, recorded with sessions and failed sign-ins."""

    ip_address: str
    user_agent: str | None
