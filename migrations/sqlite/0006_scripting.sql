-- Custom ticket actions and automations: Rhai scripts stored by the admin API (issue 4).

CREATE TABLE ticket_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action_key  TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    script      TEXT    NOT NULL,   -- Rhai defining visible(ticket, user), enabled(ticket, user), run(ticket, user)
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX ticket_actions_key ON ticket_actions (action_key);

CREATE TABLE automations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    script            TEXT    NOT NULL,
    trigger_on        TEXT    NOT NULL,   -- 'schedule' or an event name
    interval_minutes  INTEGER NULL,       -- for 'schedule'
    is_active         INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- A scheduled automation applies at most once per ticket per period (interval number).
CREATE TABLE automation_runs (
    automation_id  INTEGER NOT NULL,
    ticket_id      INTEGER NOT NULL,
    period         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (automation_id, ticket_id, period)
);
