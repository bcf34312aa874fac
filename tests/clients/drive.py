"""Drives a live Escalated server with the Python client that openapi-python-client generates
from openapi/escalated.json (contract §9.2): every call goes through the generated functions
and every answer is parsed into the generated models, so a document that lies about a field
(a null it does not declare, a missing operation, a wrong type) fails here.

Usage: python3 drive.py BASE_URL ADMIN_TOKEN (with the generated `escalated_client` importable).
"""

import datetime
import sys

from escalated_client import AuthenticatedClient
from escalated_client.api.admin_tokens import admin_tokens_create, admin_tokens_list
from escalated_client.api.admin_users import admin_users_create
from escalated_client.api.auth import auth_validate
from escalated_client.api.dashboard import dashboard_show
from escalated_client.api.tickets import (
    tickets_assign,
    tickets_create,
    tickets_list,
    tickets_reply,
    tickets_show,
    tickets_status,
)
from escalated_client.models import (
    AssignRequest,
    CreateTicketRequest,
    CreateTokenRequest,
    CreateUserRequest,
    ErrorBody,
    Priority,
    ReplyRequest,
    Status,
    StatusRequest,
)
from escalated_client.types import UNSET


def ok(response, status=200):
    """The parsed answer of a call that must have succeeded with `status`."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response.parsed is not None, response.content
    assert not isinstance(response.parsed, ErrorBody), response.parsed
    return response.parsed


def main(base_url: str, admin_token: str) -> None:
    admin = AuthenticatedClient(base_url=base_url, token=admin_token, raise_on_unexpected_status=True)

    # An agent, and two tokens of theirs: one that expires, one that never does.
    agent = ok(admin_users_create.sync_detailed(client=admin, body=CreateUserRequest(
        name="Client Agent", email="client.agent@example.com", role="agent")), 201).data
    in_a_month = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    expiring = ok(admin_tokens_create.sync_detailed(client=admin, body=CreateTokenRequest(
        name="expiring", user_id=agent.id, abilities=["*"], expires_at=in_a_month)), 201).data
    lasting = ok(admin_tokens_create.sync_detailed(client=admin, body=CreateTokenRequest(
        name="lasting", user_id=agent.id, abilities=["*"])), 201).data
    tokens = ok(admin_tokens_list.sync_detailed(client=admin)).data
    by_name = {t.name: t for t in tokens}
    assert by_name["lasting"].expires_at is None, by_name["lasting"]
    assert by_name["expiring"].expires_at is not None, by_name["expiring"]

    client = AuthenticatedClient(base_url=base_url, token=expiring.plain_text_token)
    who = ok(auth_validate.sync_detailed(client=client)).data
    assert who.user.email == "client.agent@example.com", who
    other = AuthenticatedClient(base_url=base_url, token=lasting.plain_text_token)
    assert ok(auth_validate.sync_detailed(client=other)).data.token.expires_at is None

    # An unassigned ticket and an assigned one.
    unassigned = ok(tickets_create.sync_detailed(client=client, body=CreateTicketRequest(
        subject="Printer on fire", description="Smoke from tray 2.", priority=Priority.URGENT)), 201).data
    assert unassigned.assignee is None and unassigned.department is None, unassigned
    assigned = ok(tickets_create.sync_detailed(client=client, body=CreateTicketRequest(
        subject="Invoice question", description="Why twice?")), 201).data
    ok(tickets_assign.sync_detailed(assigned.reference, client=client,
                                    body=AssignRequest(agent_id=agent.id)))
    shown = ok(tickets_show.sync_detailed(assigned.reference, client=client)).data
    assert shown.assignee is not None and shown.assignee.id == agent.id, shown
    shown = ok(tickets_show.sync_detailed(unassigned.reference, client=client)).data
    assert shown.assignee is None and shown.sla is not None, shown

    # A reply, then a status change.
    ok(tickets_reply.sync_detailed(unassigned.reference, client=client,
                                   body=ReplyRequest(body="On our way.")), 201)
    changed = ok(tickets_status.sync_detailed(unassigned.reference, client=client,
                                              body=StatusRequest(status=Status.IN_PROGRESS))).data
    assert changed.status == Status.IN_PROGRESS, changed
    shown = ok(tickets_show.sync_detailed(unassigned.reference, client=client)).data
    assert any(r.body == "On our way." for r in shown.replies), shown.replies

    # Lists with filters.
    page = ok(tickets_list.sync_detailed(client=client, priority=Priority.URGENT))
    assert [t.reference for t in page.data] == [unassigned.reference], page
    page = ok(tickets_list.sync_detailed(client=client, search="invoice", per_page=10))
    assert [t.reference for t in page.data] == [assigned.reference], page
    assert page.meta.total == 1 and page.meta.per_page == 10, page.meta
    page = ok(tickets_list.sync_detailed(client=client))
    assert page.meta.total == 2, page.meta

    # The dashboard, whose tickets include unassigned ones.
    ok(dashboard_show.sync_detailed(client=client))

    # An error is parsed as the error body, with its code.
    missing = tickets_show.sync_detailed("ESC-99999", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, ErrorBody), missing
    assert missing.parsed.code.value == "not_found", missing.parsed
    assert UNSET is not None
    print("python client: every call answered as documented")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
