-- The domain schema (MySQL/MariaDB twin of migrations/sqlite). Times are Unix seconds and flags
-- 0/1 integers, so one set of queries decodes the same on both. Foreign keys are not declared
-- here: the store removes dependent rows itself, so behaviour does not depend on the engine.

CREATE TABLE users (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(255)    NOT NULL,
    email       VARCHAR(255)    NOT NULL,          -- stored lower-cased
    role        VARCHAR(32)    NOT NULL,          -- admin | agent | customer
    is_active   BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_role_active ON users (role, is_active);

CREATE TABLE api_tokens (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    name          VARCHAR(255)    NOT NULL,
    token_hash    CHAR(64)    NOT NULL,        -- hex SHA-256 of the plain token
    abilities     VARCHAR(255)    NOT NULL,        -- comma-separated
    rate_limit    BIGINT NULL,            -- NULL: api.rate_limit
    expires_at    BIGINT NULL,
    last_used_at  BIGINT NULL,
    last_used_ip  VARCHAR(64)    NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sla_policies (
    id                    BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name                  VARCHAR(255)    NOT NULL,
    description           MEDIUMTEXT    NULL,
    is_default            BIGINT NOT NULL DEFAULT 0,
    is_active             BIGINT NOT NULL DEFAULT 1,
    first_response_hours  MEDIUMTEXT    NOT NULL,  -- JSON {"low": 24, ...}
    resolution_hours      MEDIUMTEXT    NOT NULL,  -- JSON {"low": 72, ...}
    business_hours        MEDIUMTEXT    NULL,      -- JSON schedule; NULL = calendar hours
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX sla_policies_name ON sla_policies (name);

CREATE TABLE departments (
    id             BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name           VARCHAR(255)    NOT NULL,
    description    MEDIUMTEXT    NULL,
    is_active      BIGINT NOT NULL DEFAULT 1,
    sla_policy_id  BIGINT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX departments_name ON departments (name);

CREATE TABLE department_agents (
    department_id  BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    PRIMARY KEY (department_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX department_agents_user ON department_agents (user_id);

CREATE TABLE tags (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(255)    NOT NULL,
    color       VARCHAR(16)    NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX tags_name ON tags (name);

CREATE TABLE tickets (
    id                       BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    reference                VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
    subject                  VARCHAR(255)    NOT NULL,
    description              MEDIUMTEXT    NOT NULL,
    status                   VARCHAR(32)    NOT NULL,
    priority                 BIGINT NOT NULL,   -- severity rank: 1 low .. 5 critical
    ticket_type              VARCHAR(32)    NOT NULL,
    channel                  VARCHAR(32)    NOT NULL,
    requester_id             BIGINT NOT NULL,
    assignee_id              BIGINT NULL,
    department_id            BIGINT NULL,
    sla_policy_id            BIGINT NULL,
    first_response_due_at    BIGINT NULL,
    first_response_at        BIGINT NULL,
    first_response_breached  BIGINT NOT NULL DEFAULT 0,
    resolution_due_at        BIGINT NULL,
    resolution_breached      BIGINT NOT NULL DEFAULT 0,
    sla_breached             BIGINT NOT NULL DEFAULT 0,  -- either breach, for the list filter
    last_reply_at            BIGINT NULL,
    resolved_at              BIGINT NULL,
    closed_at                BIGINT NULL,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    deleted_at               BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
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
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ticket_id         BIGINT NOT NULL,
    author_id         BIGINT NULL,
    body              MEDIUMTEXT    NOT NULL,
    is_internal_note  BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX replies_ticket ON replies (ticket_id, id);

CREATE TABLE activities (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ticket_id   BIGINT NOT NULL,
    causer_id   BIGINT NULL,
    type        VARCHAR(64)    NOT NULL,
    properties  MEDIUMTEXT    NOT NULL,   -- JSON
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX activities_ticket ON activities (ticket_id, id);
CREATE INDEX activities_created ON activities (created_at);

CREATE TABLE ticket_followers (
    ticket_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX ticket_followers_user ON ticket_followers (user_id, ticket_id);

CREATE TABLE ticket_tags (
    ticket_id  BIGINT NOT NULL,
    tag_id     BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, tag_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX ticket_tags_tag ON ticket_tags (tag_id, ticket_id);

CREATE TABLE canned_responses (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title       VARCHAR(255)    NOT NULL,
    body        MEDIUMTEXT    NOT NULL,
    category    VARCHAR(255)    NULL,
    is_shared   BIGINT NOT NULL DEFAULT 1,
    user_id     BIGINT NULL,  -- owner of a personal one
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX canned_responses_owner ON canned_responses (user_id);

CREATE TABLE macros (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(255)    NOT NULL,
    description  MEDIUMTEXT    NULL,
    is_shared    BIGINT NOT NULL DEFAULT 1,
    user_id      BIGINT NULL,
    sort_order   BIGINT NOT NULL DEFAULT 0,
    actions      MEDIUMTEXT    NULL,    -- JSON [{type, value}]; exactly one of actions and script
    script       MEDIUMTEXT    NULL,    -- Rhai source
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX macros_owner ON macros (user_id);

-- A fresh database has the Standard policy (contract §8), in calendar hours.
INSERT INTO sla_policies (name, description, is_default, is_active, first_response_hours,
                          resolution_hours, business_hours, created_at, updated_at)
VALUES ('Standard', 'Default service levels, in calendar hours.', 1, 1,
        '{"low":24,"medium":8,"high":4,"urgent":2,"critical":1}',
        '{"low":72,"medium":48,"high":24,"urgent":8,"critical":4}',
        NULL, 0, 0);
