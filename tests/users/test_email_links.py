"""Email verification, password reset and email change: the links arrive by SMTP, each
token works once, expires, and is replaced by a newer link of the same kind."""

from __future__ import annotations

import re

from sqlalchemy import text

from app.core.config import Settings
from app.db.session import Database
from app.mail.links import RESET_PASSWORD, VERIFY_EMAIL
from app.main import create_app
from tests.books.factory import Catalog
from tests.support import (
    PASSWORD,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    client_from,
    code,
    data,
    error,
    login,
    register,
    unique_email,
)
from tests.support.mail import SmtpCatcher, deliver, text_of, token_in

ME = "{ me { id email emailVerified pendingEmail } }"
VERIFY = "mutation($t: String!) { verifyEmail(token: $t) { id email emailVerified } }"
RESEND = "mutation { resendVerificationEmail }"
REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) }"
RESET = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) }"
UPDATE_ME = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { email pendingEmail } }"
NEW_PASSWORD = "a brand new passphrase"


async def expire_tokens(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE account_tokens SET expires_at = now() - interval '1 s'"))


# -- verification -------------------------------------------------------------------------


async def test_the_verification_link_verifies_the_address_once(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    assert data(await gql(ME, token=token))["me"]["emailVerified"] is False
    await deliver(database, settings, smtp)
    link_token = token_in(smtp.one_to(email), VERIFY_EMAIL)

    verified = data(await gql(VERIFY, {"t": link_token}))["verifyEmail"]  # no sign-in needed
    assert (verified["email"], verified["emailVerified"]) == (email, True)
    assert data(await gql(ME, token=token))["me"]["emailVerified"] is True
    again = error(await gql(VERIFY, {"t": link_token}))
    assert (again["extensions"]["code"], again["extensions"]["field"]) == (
        "ACCOUNT_TOKEN_INVALID",
        "token",
    )
    assert code(await gql(VERIFY, {"t": "no-such-token"})) == "ACCOUNT_TOKEN_INVALID"


async def test_an_expired_verification_link_is_refused(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    await register(gql, email)
    await deliver(database, settings, smtp)
    await expire_tokens(database)
    link_token = token_in(smtp.one_to(email), VERIFY_EMAIL)
    assert code(await gql(VERIFY, {"t": link_token})) == "ACCOUNT_TOKEN_INVALID"


async def test_only_the_tokens_hash_is_stored(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    await register(gql, email)
    await deliver(database, settings, smtp)
    link_token = token_in(smtp.one_to(email), VERIFY_EMAIL)
    dump = []
    async with database.sessionmaker() as session:
        for table in ("account_tokens", "outbox_messages"):
            dump += [str(row) for row in await session.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608
    assert dump and link_token not in " ".join(dump)


async def test_resending_replaces_the_link_and_is_throttled(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    await deliver(database, settings, smtp)
    first = token_in(smtp.one_to(email), VERIFY_EMAIL)
    for _ in range(settings.email_request_limit):
        assert data(await gql(RESEND, token=token))["resendVerificationEmail"] is True
    throttled = error(await gql(RESEND, token=token))
    assert throttled["extensions"]["code"] == "ACCOUNT_TOO_MANY_EMAILS"
    assert 0 < throttled["extensions"]["retryAfter"] <= 3600
    await deliver(database, settings, smtp)
    links = [token_in(message, VERIFY_EMAIL) for message in smtp.to(email)]
    assert len(links) == 1 + settings.email_request_limit
    assert code(await gql(VERIFY, {"t": first})) == "ACCOUNT_TOKEN_INVALID"  # replaced
    assert data(await gql(VERIFY, {"t": links[-1]}))["verifyEmail"]["emailVerified"] is True
    assert data(await gql(RESEND, token=token))["resendVerificationEmail"] is False


async def test_checkout_can_require_a_verified_address(
    catalog: Catalog, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    strict = create_app(
        settings.model_copy(update={"require_verified_email_for_checkout": True}),
        database=database,
    )
    async with client_from(strict, "203.0.113.20") as client:
        gql = GraphQL(client)
        book = await catalog.book(stock=5)
        email = unique_email()
        token = (await register(gql, email))["accessToken"]
        await add_to_cart(gql, token, book["id"])
        refused = error(await checkout(gql, token))
        assert refused["extensions"]["code"] == "ACCOUNT_EMAIL_NOT_VERIFIED"
        await deliver(database, settings, smtp)
        await gql(VERIFY, {"t": token_in(smtp.one_to(email), VERIFY_EMAIL)})
        assert "errors" not in await checkout(gql, token)


# -- password reset -----------------------------------------------------------------------


async def test_a_reset_sets_the_password_ends_every_session_and_verifies_the_address(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    session = await register(gql, email)
    assert data(await gql(REQUEST_RESET, {"e": email.upper()}))["requestPasswordReset"] is True
    await deliver(database, settings, smtp)
    [reset_email] = [m for m in smtp.to(email) if "password" in m["Subject"]]
    assert "30 minutes" in text_of(reset_email)
    link_token = token_in(reset_email, RESET_PASSWORD)

    weak = error(await gql(RESET, {"input": {"token": link_token, "newPassword": "short"}}))
    assert (weak["extensions"]["code"], weak["extensions"]["field"]) == (
        "VALIDATION_ERROR",
        "input.newPassword",
    )
    reset = {"input": {"token": link_token, "newPassword": NEW_PASSWORD}}
    assert data(await gql(RESET, reset))["resetPassword"] is True
    assert code(await gql(ME, token=session["accessToken"])) == "AUTH_INVALID_TOKEN"
    assert code(await login(gql, email, PASSWORD)) == "AUTH_INVALID_CREDENTIALS"
    signed_in = data(await login(gql, email, NEW_PASSWORD))["login"]
    assert data(await gql(ME, token=signed_in["accessToken"]))["me"]["emailVerified"] is True
    reused = error(await gql(RESET, reset))
    assert (reused["extensions"]["code"], reused["extensions"]["field"]) == (
        "ACCOUNT_TOKEN_INVALID",
        "input.token",
    )
    await deliver(database, settings, smtp)
    notice = smtp.to(email)[-1]
    assert notice["Subject"] == "Your Bookstore password was changed"


async def test_an_expired_reset_link_is_refused(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    await register(gql, email)
    await gql(REQUEST_RESET, {"e": email})
    await deliver(database, settings, smtp)
    await expire_tokens(database)
    link_token = token_in(smtp.to(email)[-1], RESET_PASSWORD)
    reset = {"input": {"token": link_token, "newPassword": NEW_PASSWORD}}
    assert code(await gql(RESET, reset)) == "ACCOUNT_TOKEN_INVALID"


def _shape(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


async def test_a_reset_request_does_the_same_work_whether_the_account_exists_or_not(
    database: Database,
    settings: Settings,
    statements: StatementCounter,
    smtp: SmtpCatcher,
) -> None:
    """Timing can't tell: both cases run the same statements, in the same order, and
    answer the same bytes (the account is looked up inside the statement that issues the
    token and queues the email). Many alternated samples, compared statement by statement."""
    app = create_app(settings.model_copy(update={"email_request_limit": 100}), database=database)
    known = unique_email()
    async with client_from(app, "198.51.100.1") as client:
        await register(GraphQL(client), known)
    runs: dict[bool, list[list[str]]] = {True: [], False: []}
    bodies: dict[bool, set[bytes]] = {True: set(), False: set()}
    for sample in range(6):
        for exists in (True, False):
            email = known if exists else unique_email("nobody")
            async with client_from(app, f"198.51.100.{10 + sample}") as client:
                statements.statements.clear()
                response = await client.post(
                    "/graphql", json={"query": REQUEST_RESET, "variables": {"e": email}}
                )
                runs[exists].append([_shape(s) for s in statements.statements])
            bodies[exists].add(response.content)
    assert len({tuple(run) for run in runs[True] + runs[False]}) == 1
    assert bodies[True] == bodies[False] == {b'{"data":{"requestPasswordReset":true}}'}
    await deliver(database, settings, smtp)
    assert len(smtp.to(known)) == 1 + 6  # the verification, then one reset per request


async def test_reset_requests_are_throttled_per_address_and_per_client(
    database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    """Past the limits the answer is still true, and nothing is sent."""
    app = create_app(
        settings.model_copy(update={"email_request_limit_per_ip": 6}), database=database
    )
    known = unique_email()
    async with client_from(app, "192.0.2.1") as first, client_from(app, "192.0.2.2") as second:
        await register(GraphQL(first), known)
        for client in (first, second, first, second):  # 3 per address, from any client
            assert data(await GraphQL(client)(REQUEST_RESET, {"e": known}))["requestPasswordReset"]
        # The refused one didn't count: `second` asked for 1; 5 more make its 6.
        for _ in range(5):
            await GraphQL(second)(REQUEST_RESET, {"e": unique_email("nobody")})
        other = unique_email()
        await register(GraphQL(first), other)
        assert data(await GraphQL(second)(REQUEST_RESET, {"e": other}))["requestPasswordReset"]
        assert data(await GraphQL(first)(REQUEST_RESET, {"e": other}))["requestPasswordReset"]
    await deliver(database, settings, smtp)
    resets = [m for m in smtp.messages if m["Subject"] == "Reset your Bookstore password"]
    assert sorted(m["X-Envelope-To"] for m in resets) == sorted([known] * 3 + [other])


# -- email change -------------------------------------------------------------------------


async def test_an_email_change_applies_when_the_new_address_confirms_it(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    old, new = unique_email("old"), unique_email("new")
    token = (await register(gql, old))["accessToken"]
    change = {"input": {"email": new, "currentPassword": PASSWORD}}
    assert data(await gql(UPDATE_ME, change, token=token))["updateMe"] == {
        "email": old,
        "pendingEmail": new,
    }
    await deliver(database, settings, smtp)
    confirmation = smtp.one_to(new)
    assert confirmation["Subject"] == "Confirm your new email address for Bookstore"
    assert len(smtp.to(old)) == 1  # only its verification email so far
    assert code(await login(gql, new)) == "AUTH_INVALID_CREDENTIALS"  # not yet

    confirmed = data(await gql(VERIFY, {"t": token_in(confirmation, VERIFY_EMAIL)}))
    assert confirmed["verifyEmail"] == {
        "id": confirmed["verifyEmail"]["id"],
        "email": new,
        "emailVerified": True,
    }
    assert data(await gql(ME, token=token))["me"]["pendingEmail"] is None
    assert "errors" not in await login(gql, new)
    await deliver(database, settings, smtp)
    notice = smtp.to(old)[-1]
    assert notice["Subject"] == "Your Bookstore email address was changed"
    assert new in text_of(notice)
    # The old address's verification link no longer verifies anything.
    old_link = token_in(smtp.to(old)[0], VERIFY_EMAIL)
    assert code(await gql(VERIFY, {"t": old_link})) == "ACCOUNT_TOKEN_INVALID"


async def test_a_newer_change_replaces_the_link_and_a_taken_address_is_refused(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    token = (await register(gql))["accessToken"]
    first, second = unique_email("first"), unique_email("second")
    for email in (first, second):
        change = {"input": {"email": email, "currentPassword": PASSWORD}}
        assert "errors" not in await gql(UPDATE_ME, change, token=token)
    await deliver(database, settings, smtp)
    stale = token_in(smtp.one_to(first), VERIFY_EMAIL)
    assert code(await gql(VERIFY, {"t": stale})) == "ACCOUNT_TOKEN_INVALID"
    # Someone registers the second address before the link is followed.
    await register(gql, second)
    taken = error(await gql(VERIFY, {"t": token_in(smtp.one_to(second), VERIFY_EMAIL)}))
    assert (taken["extensions"]["code"], taken["extensions"]["field"]) == (
        "USER_EMAIL_TAKEN",
        "token",
    )
    change = {"input": {"email": second, "currentPassword": PASSWORD}}
    assert code(await gql(UPDATE_ME, change, token=token)) == "USER_EMAIL_TAKEN"
