"""`poetry run example NAME`: sends an example of the README's API guide, read from the
README itself, to a running API."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from app.cli.guide import guide_text, read_guide
from app.db.migrations import PROJECT_ROOT


def example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli.guide import main; main()", *args],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_lists_the_guide_s_examples_in_order() -> None:
    listed = example("--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == list(read_guide(guide_text()))


async def test_sends_an_example_to_the_api(live_server: str) -> None:
    sent = example("hello", "--url", f"{live_server}/graphql")
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["data"]["apiInfo"]["environment"] == "development"


def test_prints_a_one_line_curl_command_with_the_documented_variables() -> None:
    printed = example("checkout", "--token", "T0KEN", "--curl")
    assert printed.returncode == 0, printed.stderr
    (line,) = printed.stdout.splitlines()
    words = shlex.split(line)
    assert words[:3] == ["curl", "-s", "http://127.0.0.1:8000/graphql"]
    assert "Authorization: Bearer T0KEN" in words
    body = json.loads(words[words.index("-d") + 1])
    documented = read_guide(guide_text())["checkout"]
    assert body["variables"] == documented.variables
    assert body["query"].startswith("mutation Checkout(")


def test_an_unknown_example_is_a_usage_error() -> None:
    refused = example("no-such-example")
    assert refused.returncode == 2
    assert "--list" in refused.stderr and "Traceback" not in refused.stderr


def test_a_cart_token_goes_in_the_header_and_in_place_of_the_guide_s_cart_token() -> None:
    printed = example("register", "--cart-token", "MY-CART", "--curl")
    assert printed.returncode == 0, printed.stderr
    words = shlex.split(printed.stdout)
    assert "X-Cart-Token: MY-CART" in words
    sent = json.loads(words[words.index("-d") + 1])["variables"]["input"]
    documented = read_guide(guide_text())["register"].variables["input"]
    assert documented["cartToken"] != "MY-CART"
    assert sent == {**documented, "cartToken": "MY-CART"}


def test_an_email_token_goes_in_place_of_the_guide_s_token() -> None:
    printed = example("reset-password", "--email-token", "FROM-THE-LINK", "--curl")
    assert printed.returncode == 0, printed.stderr
    words = shlex.split(printed.stdout)
    sent = json.loads(words[words.index("-d") + 1])["variables"]["input"]
    documented = read_guide(guide_text())["reset-password"].variables["input"]
    assert documented["token"] != "FROM-THE-LINK"
    assert sent == {**documented, "token": "FROM-THE-LINK"}  # the new password as printed


async def test_sends_the_cart_token_as_x_cart_token(live_server: str) -> None:
    url = f"{live_server}/graphql"
    # Without a token the page's cart is simply null; with one that opens no cart, an error.
    without = json.loads(example("guest-cart-invalid", "--url", url).stdout)
    assert without["data"]["cart"] is None and "errors" not in without
    sent = example("guest-cart-invalid", "--url", url, "--cart-token", "no-such-token")
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["data"]["cart"] is None
    assert answer["errors"][0]["extensions"]["code"] == "CART_TOKEN_INVALID"
