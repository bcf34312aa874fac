-- Custom ticket actions and automations: Rhai scripts stored by the admin API (issue 4).

CREATE TABLE ticket_actions (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    action_key  VARCHAR(100) NOT NULL,
    label       VARCHAR(255) NOT NULL,
    script      MEDIUMTEXT   NOT NULL,   -- Rhai defining visible(ticket, user), enabled(ticket, user), run(ticket, user)
    is_active   BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX ticket_actions_key ON ticket_actions (action_key);

CREATE TABLE automations (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name              VARCHAR(255) NOT NULL,
    script            MEDIUMTEXT   NOT NULL,
    trigger_on        VARCHAR(100) NOT NULL,   -- 'schedule' or an event name
    interval_minutes  BIGINT NULL,             -- for 'schedule'
    is_active         BIGINT NOT NULL DEFAULT 1,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A scheduled automation applies at most once per ticket per period (interval number).
CREATE TABLE automation_runs (
    automation_id  BIGINT NOT NULL,
    ticket_id      BIGINT NOT NULL,
    period         BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (automation_id, ticket_id, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
