-- The reports' rollup (twin of migrations/sqlite/0019_report_rollup.sql; docs/reports.md). The
-- summary of whole UTC days reads these sums instead of every ticket of the period; the job
-- `roll-up-reports` folds ticket changes into them in change order (`tickets.change_seq`).

-- How many tickets fall under `(kind, day, k)`: `kind` names the figure (created, status,
-- priority, department, agent, policy, breached, first_response, resolution, resolved), `day`
-- is the UTC day (Unix seconds / 86400) the ticket was created on (resolved: resolved on), `k`
-- the figure's value ('' for none; a duration bucket in seconds for the two durations).
CREATE TABLE report_counts (
    kind VARCHAR(16) NOT NULL,
    day  BIGINT      NOT NULL,
    k    VARCHAR(32) NOT NULL,
    n    BIGINT      NOT NULL,
    PRIMARY KEY (kind, day, k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What each live ticket adds to `report_counts` as last folded, so a change can take it back.
CREATE TABLE report_contributions (
    ticket_id      BIGINT      NOT NULL PRIMARY KEY,
    created_day    BIGINT      NOT NULL,
    status         VARCHAR(32) NOT NULL,
    priority       BIGINT      NOT NULL,
    department_id  BIGINT,
    assignee_id    BIGINT,
    has_policy     SMALLINT    NOT NULL,
    breached       SMALLINT    NOT NULL,
    first_response BIGINT,
    resolved_day   BIGINT,
    resolution     BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The change number up to which `report_counts` holds every ticket change.
CREATE TABLE report_rollup (
    id         BIGINT NOT NULL PRIMARY KEY,
    folded_seq BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO report_rollup (id, folded_seq) VALUES (1, 0);
