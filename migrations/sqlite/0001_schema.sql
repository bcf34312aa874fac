-- The domain schema. Times are Unix seconds (INTEGER) and flags are 0/1 integers, so that one
-- set of queries decodes the same on SQLite and MySQL (see docs/architecture.md, "Storage").

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL,          -- stored lower-cased
    role        TEXT    NOT NULL,          -- admin | agent | customer
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_role_active ON users (role, is_active);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL,        -- hex SHA-256 of the plain token
    abilities     TEXT    NOT NULL,        -- comma-separated
    rate_limit    INTEGER NULL,            -- NULL: api.rate_limit
    expires_at    INTEGER NULL,
    last_used_at  INTEGER NULL,
    last_used_ip  TEXT    NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sla_policies (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT    NOT NULL COLLATE NOCASE,  -- unique regardless of case, as on MySQL
    description           TEXT    NULL,
    is_default            INTEGER NOT NULL DEFAULT 0,
    is_active             INTEGER NOT NULL DEFAULT 1,
    first_response_hours  TEXT    NOT NULL,  -- JSON {"low": 24, ...}
    resolution_hours      TEXT    NOT NULL,  -- JSON {"low": 72, ...}
    business_hours        TEXT    NULL,      -- JSON schedule; NULL = calendar hours
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX sla_policies_name ON sla_policies (name);

CREATE TABLE departments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL COLLATE NOCASE,  -- unique regardless of case, as on MySQL
    description    TEXT    NULL,
    is_active      INTEGER NOT NULL DEFAULT 1,
    sla_policy_id  INTEGER NULL REFERENCES sla_policies (id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX departments_name ON departments (name);

CREATE TABLE department_agents (
    department_id  INTEGER NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (department_id, user_id)
);
CREATE INDEX department_agents_user ON department_agents (user_id);

CREATE TABLE tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL COLLATE NOCASE,  -- unique regardless of case, as on MySQL
    color       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (name);

CREATE TABLE tickets (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    reference                TEXT    NOT NULL,
    subject                  TEXT    NOT NULL,
    description              TEXT    NOT NULL,
    status                   TEXT    NOT NULL,
    priority                 INTEGER NOT NULL,   -- severity rank: 1 low .. 5 critical
    ticket_type              TEXT    NOT NULL,
    channel                  TEXT    NOT NULL,
    requester_id             INTEGER NOT NULL REFERENCES users (id),
    assignee_id              INTEGER NULL REFERENCES users (id),
    department_id            INTEGER NULL REFERENCES departments (id),
    sla_policy_id            INTEGER NULL REFERENCES sla_policies (id),
    first_response_due_at    INTEGER NULL,
    first_response_at        INTEGER NULL,
    first_response_breached  INTEGER NOT NULL DEFAULT 0,
    resolution_due_at        INTEGER NULL,
    resolution_breached      INTEGER NOT NULL DEFAULT 0,
    sla_breached             INTEGER NOT NULL DEFAULT 0,  -- either breach, for the list filter
    last_reply_at            INTEGER NULL,
    resolved_at              INTEGER NULL,
    closed_at                INTEGER NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    deleted_at               INTEGER NULL
);
CREATE UNIQUE INDEX tickets_reference ON tickets (reference);
-- The list's default order and each filter with that order (see docs/performance.md).
CREATE INDEX tickets_created ON tickets (deleted_at, created_at, id);
CREATE INDEX tickets_updated ON tickets (deleted_at, updated_at, id);
CREATE INDEX tickets_status ON tickets (status, created_at, id);
CREATE INDEX tickets_priority ON tickets (priority, created_at, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status, created_at);
CREATE INDEX tickets_department ON tickets (department_id, created_at);
CREATE INDEX tickets_requester ON tickets (requester_id, created_at);
CREATE INDEX tickets_type ON tickets (ticket_type, created_at);
CREATE INDEX tickets_breached ON tickets (sla_breached, created_at);
CREATE INDEX tickets_resolved ON tickets (resolved_at);

CREATE TABLE replies (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id         INTEGER NULL REFERENCES users (id),
    body              TEXT    NOT NULL,
    is_internal_note  INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);
CREATE INDEX replies_ticket ON replies (ticket_id, id);

CREATE TABLE activities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    causer_id   INTEGER NULL REFERENCES users (id),
    type        TEXT    NOT NULL,
    properties  TEXT    NOT NULL,   -- JSON
    created_at  INTEGER NOT NULL
);
CREATE INDEX activities_ticket ON activities (ticket_id, id);
CREATE INDEX activities_created ON activities (created_at);

CREATE TABLE ticket_followers (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_followers_user ON ticket_followers (user_id, ticket_id);

CREATE TABLE ticket_tags (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, tag_id)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (tag_id, ticket_id);

CREATE TABLE canned_responses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    category    TEXT    NULL,
    is_shared   INTEGER NOT NULL DEFAULT 1,
    user_id     INTEGER NULL REFERENCES users (id) ON DELETE CASCADE,  -- owner of a personal one
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX canned_responses_owner ON canned_responses (user_id);

CREATE TABLE macros (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    description  TEXT    NULL,
    is_shared    INTEGER NOT NULL DEFAULT 1,
    user_id      INTEGER NULL REFERENCES users (id) ON DELETE CASCADE,
    sort_order   INTEGER NOT NULL DEFAULT 0,
    actions      TEXT    NULL,    -- JSON [{type, value}]; exactly one of actions and script
    script       TEXT    NULL,    -- Rhai source
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX macros_owner ON macros (user_id);

-- A fresh database has the Standard policy (contract §8), in calendar hours.
INSERT INTO sla_policies (name, description, is_default, is_active, first_response_hours,
                          resolution_hours, business_hours, created_at, updated_at)
VALUES ('Standard', 'Default service levels, in calendar hours.', 1, 1,
        '{"low":24,"medium":8,"high":4,"urgent":2,"critical":1}',
        '{"low":72,"medium":48,"high":24,"urgent":8,"critical":4}',
        NULL, 0, 0);
