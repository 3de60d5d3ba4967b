"""me, updateMe, changePassword."""

from __future__ import annotations

from tests.support import PASSWORD, GraphQL, code, data, error, login, register, unique_email

UPDATE_ME = """
mutation($input: UpdateMeInput!) { updateMe(input: $input) { email fullName } }
"""
CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) { changePassword(input: $input) }
"""
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"


async def test_update_full_name(gql: GraphQL) -> None:
    payload = await register(gql)
    updated = data(
        await gql(UPDATE_ME, {"input": {"fullName": "Grace Hopper"}}, token=payload["accessToken"])
    )["updateMe"]
    assert updated == {"email": payload["user"]["email"], "fullName": "Grace Hopper"}


async def test_update_me_requires_auth(gql: GraphQL) -> None:
    assert code(await gql(UPDATE_ME, {"input": {"fullName": "X"}})) == "AUTH_REQUIRED"


async def test_email_change_needs_the_current_password(gql: GraphQL) -> None:
    payload = await register(gql)
    token = payload["accessToken"]
    new_email = unique_email("moved")

    missing = error(await gql(UPDATE_ME, {"input": {"email": new_email}}, token=token))
    assert missing["extensions"]["code"] == "AUTH_INVALID_CREDENTIALS"
    assert missing["extensions"]["field"] == "input.currentPassword"

    wrong = {"email": new_email, "currentPassword": "not it at all"}
    assert code(await gql(UPDATE_ME, {"input": wrong}, token=token)) == "AUTH_INVALID_CREDENTIALS"

    # Right: the change waits for the link sent to the new address (tests/users/test_email_links.py).
    right = {"email": new_email.upper(), "currentPassword": PASSWORD}
    pending = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { email pendingEmail } }"
    assert data(await gql(pending, {"input": right}, token=token))["updateMe"] == {
        "email": payload["user"]["email"],
        "pendingEmail": new_email,
    }
    assert "errors" not in await login(gql, payload["user"]["email"])


async def test_email_change_to_a_taken_email(gql: GraphQL) -> None:
    taken = (await register(gql))["user"]["email"]
    payload = await register(gql)
    result = await gql(
        UPDATE_ME,
        {"input": {"email": taken, "currentPassword": PASSWORD, "fullName": "Changed"}},
        token=payload["accessToken"],
    )
    failure = error(result)
    assert failure["extensions"]["code"] == "USER_EMAIL_TAKEN"
    assert failure["extensions"]["field"] == "input.email"
    me = data(await gql("{ me { email fullName } }", token=payload["accessToken"]))["me"]
    assert me == {"email": payload["user"]["email"], "fullName": "Ada Reader"}  # nothing half-done


async def test_update_me_cannot_set_role(gql: GraphQL) -> None:
    payload = await register(gql)
    result = await gql(UPDATE_ME, {"input": {"role": "ADMIN"}}, token=payload["accessToken"])
    assert error(result)["extensions"]["code"] == "VALIDATION_ERROR"
    assert error(result)["extensions"]["field"] == "input.role"


async def test_change_password_signs_out_other_sessions(gql: GraphQL) -> None:
    current = await register(gql)
    email = current["user"]["email"]
    other = data(await login(gql, email))["login"]
    new_password = "a brand new passphrase"

    wrong = {"currentPassword": "wrong one", "newPassword": new_password}
    failure = error(await gql(CHANGE_PASSWORD, {"input": wrong}, token=current["accessToken"]))
    assert failure["extensions"] == {
        "code": "AUTH_INVALID_CREDENTIALS",
        "field": "input.currentPassword",
    }

    weak = {"currentPassword": PASSWORD, "newPassword": "short"}
    weak_result = await gql(CHANGE_PASSWORD, {"input": weak}, token=current["accessToken"])
    assert error(weak_result)["extensions"]["field"] == "input.newPassword"
    as_email = {"currentPassword": PASSWORD, "newPassword": email.upper()}
    email_result = await gql(CHANGE_PASSWORD, {"input": as_email}, token=current["accessToken"])
    refused = error(email_result)["extensions"]
    assert (refused["code"], refused["field"]) == ("VALIDATION_ERROR", "input.newPassword")

    change = {"currentPassword": PASSWORD, "newPassword": new_password}
    assert data(await gql(CHANGE_PASSWORD, {"input": change}, token=current["accessToken"])) == {
        "changePassword": True
    }
    assert code(await gql(REFRESH, {"t": other["refreshToken"]})) == "AUTH_INVALID_TOKEN"
    assert "errors" not in await gql(REFRESH, {"t": current["refreshToken"]})
    assert code(await login(gql, email)) == "AUTH_INVALID_CREDENTIALS"
    assert "errors" not in await login(gql, email, new_password)


async def test_no_response_ever_contains_a_password_hash(gql: GraphQL) -> None:
    payload = await register(gql)
    token = payload["accessToken"]
    signed_in = data(await login(gql, payload["user"]["email"]))["login"]
    responses = [
        payload,
        signed_in,
        await gql("{ me { id email fullName role createdAt } }", token=token),
        await gql(REFRESH, {"t": signed_in["refreshToken"]}),
        await gql(UPDATE_ME, {"input": {"fullName": "Z"}}, token=token),
        await gql(
            CHANGE_PASSWORD,
            {"input": {"currentPassword": PASSWORD, "newPassword": "another passphrase"}},
            token=token,
        ),
        await gql(
            "query($id: ID!) { node(id: $id) { ... on User { id email } } }",
            {"id": payload["user"]["id"]},
            token=token,
        ),
        await gql("{ me { passwordHash } }", token=token),
    ]
    assert "argon2" not in str(responses)
    assert code(responses[-1]) == "GRAPHQL_VALIDATION_FAILED"


async def test_guessing_the_current_password_is_throttled(gql: GraphQL) -> None:
    payload = await register(gql)
    token = payload["accessToken"]
    for _ in range(5):
        wrong = {"currentPassword": "a wrong guess", "newPassword": "whatever 12345"}
        assert code(await gql(CHANGE_PASSWORD, {"input": wrong}, token=token)) == (
            "AUTH_INVALID_CREDENTIALS"
        )
    right = {"currentPassword": PASSWORD, "newPassword": "whatever 12345"}
    locked = error(await gql(CHANGE_PASSWORD, {"input": right}, token=token))
    assert locked["extensions"]["code"] == "AUTH_TOO_MANY_ATTEMPTS"
    assert code(await login(gql, payload["user"]["email"])) == "AUTH_TOO_MANY_ATTEMPTS"


async def test_a_right_password_never_counts_as_a_failure(gql: GraphQL) -> None:
    """The current password was right but the change failed for another reason (a taken
    email): no failure is recorded, however often it happens."""
    taken = (await register(gql))["user"]["email"]
    payload = await register(gql)
    token = payload["accessToken"]
    change = {"input": {"email": taken, "currentPassword": PASSWORD}}
    for _ in range(7):
        assert code(await gql(UPDATE_ME, change, token=token)) == "USER_EMAIL_TAKEN"
    assert "errors" not in await login(gql, payload["user"]["email"])
