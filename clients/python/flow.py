"""The demo flow through a client generated from openapi/openapi.json by openapi-python-client,
as an integrator would write it: responses are the generated models (parsed, so a field the
document promises and the server does not send fails here), problems are the generated
`Problem`. Type-checked with mypy by scripts/check-contract.

BASE_URL, TOKEN (a billing contact's) and ACCOUNT_ID come from scripts/check-contract; the
generated package `billing_center_client` is on PYTHONPATH.
"""

from __future__ import annotations

import os
import re
import time
from typing import TypeVar
from uuid import UUID

from billing_center_client import AuthenticatedClient
from billing_center_client.api.cart import add_cart_item, checkout_cart, get_quote
from billing_center_client.api.licenses import put_assignment
from billing_center_client.api.subscriptions import list_subscriptions
from billing_center_client.api.users import create_user, list_users
from billing_center_client.models import (
    AssignmentView,
    CartItemChange,
    CartItemChangeType,
    CartView,
    CheckoutInput,
    CreateUser,
    ListSubscriptionView,
    ListUserView,
    OrderStatus,
    OrderView,
    Problem,
    QuoteView,
    SubscriptionAction,
)
from billing_center_client.types import Response, Unset

T = TypeVar("T")


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"check failed: {what}")


def ok(step: str, response: Response[T | Problem], expected: type[T]) -> T:
    """The parsed body of a successful call, or a failure that shows the server's problem."""
    parsed = response.parsed
    if isinstance(parsed, Problem):
        raise AssertionError(f"{step}: HTTP {response.status_code}, {parsed.code}: {parsed.detail}")
    if not isinstance(parsed, expected):
        raise AssertionError(
            f"{step}: HTTP {response.status_code}, unexpected body {response.content!r}"
        )
    print(f"ok  {step} (HTTP {response.status_code})")
    return parsed


def problem(step: str, response: Response[T | Problem], status: int, code: str) -> Problem:
    """The problem of a call that must fail, parsed into the generated `Problem`."""
    parsed = response.parsed
    if not isinstance(parsed, Problem):
        raise AssertionError(f"{step}: expected {status} {code}, got HTTP {response.status_code}")
    check(response.status_code == status and parsed.status == status, f"{step}: status {status}")
    check(parsed.code == code, f"{step}: code {code}, got {parsed.code}")
    check(parsed.type_ == f"/problems/{code}", f"{step}: type of {code}")
    print(f"ok  {step} (HTTP {response.status_code} {parsed.code}: {parsed.detail})")
    return parsed


def main() -> None:
    account_id = UUID(env("ACCOUNT_ID"))
    client = AuthenticatedClient(
        base_url=env("BASE_URL"), token=env("TOKEN"), raise_on_unexpected_status=True
    )

    # 1. The account's subscriptions.
    subscriptions = ok(
        "list subscriptions",
        list_subscriptions.sync_detailed(account_id, client=client),
        ListSubscriptionView,
    )
    editable = [
        s
        for s in subscriptions.data
        if s.product == "gotoassist-rs-v4" and SubscriptionAction.EDIT in s.actions
    ]
    check(len(editable) == 1, "one editable gotoassist-rs-v4 subscription")
    subscription = editable[0]

    # 2. A change in the cart: one licence more, on Premium, keeping the billing frequency the
    # subscription has (a response enum sent back as a request value).
    change = CartItemChange(
        type_=CartItemChangeType.CHANGE,
        subscription_id=subscription.id,
        plan="premium",
        quantity=subscription.quantity + 1,
        billing_frequency=subscription.billing_frequency,
    )
    cart = ok(
        "add a change to the cart",
        add_cart_item.sync_detailed(account_id, client=client, body=change),
        CartView,
    )
    check(cart.item_count == 1, "one item in the cart")

    # 3. The checkout summary.
    quote = ok(
        "read the checkout summary", get_quote.sync_detailed(account_id, client=client), QuoteView
    )
    check(quote.items[0].quantity == subscription.quantity + 1, "quoted licences")
    check(
        re.fullmatch(r"-?\d+\.\d{2}", quote.total_due) is not None,
        f"total_due is money: {quote.total_due}",
    )
    check(quote.requirements == [], "nothing required before checkout")

    # 4. The order, exactly once per Idempotency-Key, charged as reviewed (If-Match).
    key = f"contract-py-{time.time_ns()}"

    def place_order() -> Response[OrderView | Problem]:
        return checkout_cart.sync_detailed(
            account_id,
            client=client,
            body=CheckoutInput(),
            idempotency_key=key,
            if_match=quote.quote_etag,
        )

    order = ok("place the order", place_order(), OrderView)
    check(order.status == OrderStatus.COMPLETED, f"order completed, is {order.status}")
    check(order.total_due == quote.total_due, "charged what was reviewed")
    replayed = place_order()
    check(
        ok("place the order again, same key", replayed, OrderView).id == order.id, "the same order"
    )
    check(replayed.headers.get("Idempotent-Replayed") == "true", "marked replayed")
    licenses = [s for s in order.subscriptions if s.subscription_id == subscription.id]
    check(len(licenses) == 1 and licenses[0].licenses_unassigned > 0, "licences to assign")

    # 5. A licence for each of two users.
    users = ok("list users", list_users.sync_detailed(account_id, client=client), ListUserView)
    check(len(users.data) >= 2, "the demo account has two users")
    for user in users.data[:2]:
        assignment = ok(
            f"assign a licence to {user.email}",
            put_assignment.sync_detailed(account_id, subscription.id, user.id, client=client),
            AssignmentView,
        )
        check(assignment.user_id == user.id, "assigned to the user")

    # 6. Problems, parsed into the generated Problem.
    first = users.data[0]
    problem(
        "add a user whose email is taken",
        create_user.sync_detailed(
            account_id, client=client, body=CreateUser(name=first.name, email=first.email)
        ),
        409,
        "duplicate-email",
    )
    in_use = problem(
        "reduce the licences below those assigned",
        add_cart_item.sync_detailed(
            account_id,
            client=client,
            body=CartItemChange(
                type_=CartItemChangeType.CHANGE, subscription_id=subscription.id, quantity=1
            ),
        ),
        409,
        "licenses-in-use",
    )
    check(
        not isinstance(in_use.licenses_assigned, Unset)
        and in_use.licenses_to_unassign == in_use.licenses_assigned - 1,
        "licenses-in-use says how many to unassign",
    )
    invalid = problem(
        "add an item of zero licences",
        add_cart_item.sync_detailed(
            account_id,
            client=client,
            body=CartItemChange(
                type_=CartItemChangeType.CHANGE, subscription_id=subscription.id, quantity=0
            ),
        ),
        422,
        "validation-failed",
    )
    check(
        not isinstance(invalid.errors, Unset) and invalid.errors[0].field == "quantity",
        "the invalid field is named",
    )

    print("Python client: the flow passed")


if __name__ == "__main__":
    main()
