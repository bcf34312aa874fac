// A TypeScript client's use of the types openapi-typescript generates from
// openapi/escalated.json, type-checked by `tsc --strict` in tests/clients/run.sh: what a
// front-end sends (nulls included) and reads (nullable fields, envelopes, error codes) must be
// expressible with the document's types alone.
import type { components, paths } from "./escalated";

type Schemas = components["schemas"];
type Ticket = Schemas["Ticket"];
type CreateTicket =
  paths["/tickets/create"]["post"]["requestBody"]["content"]["application/json"];
type TicketPage =
  paths["/tickets"]["get"]["responses"]["200"]["content"]["application/json; charset=utf-8"];
type ErrorBody = Schemas["ErrorBody"];

const BASE = "http://127.0.0.1:8080/support/api/v1";

async function call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const error = (await response.json()) as ErrorBody;
    const fields: string = Object.keys(error.errors ?? {}).join(", ");
    throw new Error(`${error.code}: ${error.message} ${fields}`);
  }
  return (await response.json()) as T;
}

// Nullable answers must be handled as such under --strict.
function owner(ticket: Ticket): string {
  return ticket.assignee === null || ticket.assignee === undefined
    ? "unassigned"
    : ticket.assignee.name;
}

export async function example(token: string): Promise<string[]> {
  const create: CreateTicket = {
    subject: "Printer on fire",
    description: "Smoke from tray 2.",
    priority: "urgent",
    department_id: null,
  };
  const created = await call<Schemas["TicketWritten"]>(token, "POST", "/tickets/create", create);
  // Requests that clear a value send null, as documented.
  const unassign: Schemas["AssignRequest"] = { agent_id: null };
  await call(token, "POST", `/tickets/${created.data.reference}/assign`, unassign);
  const unlimited: Schemas["UpdateTokenRequest"] = { rate_limit: null, expires_at: null };
  await call(token, "PATCH", "/admin/api-tokens/1/update", unlimited);
  const page = await call<TicketPage>(token, "GET", "/tickets?status=open&per_page=10");
  const code: ErrorBody["code"] = "validation_failed";
  return [owner(created.data), `${page.meta.total} open`, code];
}
