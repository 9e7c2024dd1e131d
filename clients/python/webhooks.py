"""Webhooks as an integrator receives them: an endpoint created through the generated client,
a receiver on 127.0.0.1, and every delivery verified with the official Standard Webhooks
library (`standardwebhooks` from PyPI), which shares nothing with the server. Type-checked
with mypy by scripts/check-contract.

BASE_URL, ADMIN_TOKEN and ACCOUNT_ID come from scripts/check-contract (the server runs with
WEBHOOKS_ALLOW_HTTP and WEBHOOKS_ALLOW_PRIVATE, and its delivery worker); the generated
package `billing_center_client` is on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from billing_center_client import AuthenticatedClient
from billing_center_client.api.users import create_user
from billing_center_client.api.webhooks import (
    create_webhook_endpoint,
    list_webhook_deliveries,
    test_webhook_endpoint,
)
from billing_center_client.models import (
    CreateUser,
    CreateWebhookEndpoint,
    DeliveryStatus,
    DeliveryView,
    ListDeliveryView,
    Problem,
    UserView,
    WebhookEndpointWithSecret,
)
from standardwebhooks.webhooks import Webhook

Received = tuple[dict[str, str], bytes]
received: list[Received] = []
arrived = threading.Condition()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with arrived:
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def wait_for(count: int, seconds: float = 15.0) -> list[Received]:
    deadline = time.monotonic() + seconds
    with arrived:
        while len(received) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(received)} of {count} deliveries arrived in {seconds} s")
            arrived.wait(left)
        return list(received)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/billing-webhooks"
    client = AuthenticatedClient(base_url=env("BASE_URL"), token=env("ADMIN_TOKEN"))
    account = UUID(env("ACCOUNT_ID"))

    created = create_webhook_endpoint.sync_detailed(
        client=client,
        body=CreateWebhookEndpoint(url=url, enabled_events=["user.*"], description="contract"),
    ).parsed
    if not isinstance(created, WebhookEndpointWithSecret):
        raise AssertionError(f"create endpoint: {created}")
    verifier = Webhook(created.secret)

    user = create_user.sync_detailed(
        account, client=client, body=CreateUser(name="Hook", email="hook@acme.example")
    ).parsed
    if not isinstance(user, UserView):
        raise AssertionError(f"create user: {user}")
    test = test_webhook_endpoint.sync_detailed(created.id, client=client).parsed
    if not isinstance(test, DeliveryView):
        raise AssertionError(f"test: {test}")

    deliveries = wait_for(2)
    types = []
    for headers, body in deliveries:
        event = verifier.verify(body, headers)
        if headers["webhook-id"] != event["id"]:
            raise AssertionError("webhook-id is the event id")
        types.append(event["type"])
        if event["type"] == "user.created":
            if event["data"]["object"]["id"] != str(user.id):
                raise AssertionError(f"user.created carries the user: {json.dumps(event)}")
    if sorted(types) != ["user.created", "webhook.test"]:
        raise AssertionError(f"received {types}")
    try:
        headers, body = deliveries[0]
        verifier.verify(body + b" ", headers)
        raise AssertionError("an altered body must not verify")
    except AssertionError:
        raise
    except Exception:
        pass

    page = list_webhook_deliveries.sync_detailed(created.id, client=client).parsed
    if not isinstance(page, ListDeliveryView) or isinstance(page, Problem):
        raise AssertionError(f"deliveries: {page}")
    deadline = time.monotonic() + 10
    while not all(d.status == DeliveryStatus.SUCCEEDED for d in page.data):
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not recorded as succeeded: {page.data}")
        time.sleep(0.2)
        page = list_webhook_deliveries.sync_detailed(created.id, client=client).parsed
        if not isinstance(page, ListDeliveryView):
            raise AssertionError(f"deliveries: {page}")
    print(f"webhooks: {len(deliveries)} deliveries verified by standardwebhooks: {sorted(types)}")
    server.shutdown()


if __name__ == "__main__":
    main()
