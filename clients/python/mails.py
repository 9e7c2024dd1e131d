"""Mails as a mail server receives them: the orders the demo flows placed are confirmed by
mail to the demo billing contact, through `aiosmtpd` (from PyPI) writing a Maildir, read back
with Python's own `email` package, which shares nothing with the server. The outbox, read
through the generated client, says each was sent, under the Message-ID the mail carries.
Type-checked with mypy by scripts/check-contract.

BASE_URL, ADMIN_TOKEN, ACCOUNT_ID and MAILDIR come from scripts/check-contract (the server runs
with SMTP_URL pointing at the aiosmtpd it started); the generated package
`billing_center_client` is on PYTHONPATH.
"""

from __future__ import annotations

import mailbox
import os
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from uuid import UUID

from billing_center_client import AuthenticatedClient
from billing_center_client.api.notifications import list_notifications
from billing_center_client.models import (
    ListNotificationView,
    NotificationStatus,
    NotificationTemplate,
    NotificationView,
)


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def sent_confirmations(client: AuthenticatedClient, account: UUID) -> list[NotificationView]:
    """The order confirmations of the outbox, once none of them is still pending."""
    deadline = time.monotonic() + 20
    while True:
        page = list_notifications.sync_detailed(account, client=client, limit=100).parsed
        if not isinstance(page, ListNotificationView):
            raise AssertionError(f"notifications: {page}")
        orders = [n for n in page.data if n.template == NotificationTemplate.ORDER_CONFIRMATION]
        if orders and all(n.status != NotificationStatus.PENDING for n in orders):
            return orders
        if time.monotonic() > deadline:
            raise AssertionError(f"order confirmations not sent: {page.data}")
        time.sleep(0.2)


def main() -> None:
    client = AuthenticatedClient(base_url=env("BASE_URL"), token=env("ADMIN_TOKEN"))
    account = UUID(env("ACCOUNT_ID"))
    orders = sent_confirmations(client, account)
    for n in orders:
        if n.status != NotificationStatus.SENT:
            raise AssertionError(f"not sent: {n}")

    received = [as_email(raw) for raw in mailbox.Maildir(env("MAILDIR"), create=False)]
    for n in orders:
        message_id = f"<{n.id.hex}@billing-center.example>"
        copies = [m for m in received if str(m["Message-ID"]) == message_id]
        if len(copies) != 1:
            ids = sorted(str(m["Message-ID"]) for m in received)
            raise AssertionError(f"{len(copies)} mails with Message-ID {message_id}: {ids}")
        mail = copies[0]
        if str(mail["Subject"]) != n.subject or not str(mail["Subject"]).startswith("Order ORD-"):
            raise AssertionError(f"subject {mail['Subject']!r}, outbox {n.subject!r}")
        if str(mail["To"]) != "ada@acme.example" or n.to != "ada@acme.example":
            raise AssertionError(f"to {mail['To']!r}")
        text = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        if text is None or html is None:
            raise AssertionError("a text and an HTML part")
        body = text.get_content()
        if not body.startswith("Hello Ada Lovelace,"):
            raise AssertionError(f"greeting: {body}")
        if "Total: " not in body or "Paid by card." not in body:
            raise AssertionError(f"totals: {body}")
    print(f"mails: {len(orders)} order confirmations received by aiosmtpd, one each")


def as_email(raw: mailbox.MaildirMessage) -> EmailMessage:
    parsed = message_from_bytes(raw.as_bytes(), policy=default)
    if not isinstance(parsed, EmailMessage):
        raise AssertionError("not a mail")
    return parsed


if __name__ == "__main__":
    main()
