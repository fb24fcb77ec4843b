-- Request counts that every replica adds to, so that the error-rate rule
-- and the overview charts see the traffic of all replicas, and the start of
-- an issue's quiet period, so that every replica judges it alike. The same
-- tables and meaning as SQLite's 0004_traffic.sql: bucket starts are
-- timestamptz (never NULL), failure times timestamptz with NULL for none,
-- bucket widths bigint nanoseconds (an alert window's sixtieth need not be
-- a whole number of microseconds).

-- When the error-rate rule last found an open issue's window back at or
-- below the threshold; NULL while it is above.
ALTER TABLE issues ADD COLUMN healthy_since timestamptz;

-- The error-rate rule's buckets: one slot of the alert window (the window
-- divided by 60) per row and route, client (empty: none, or not
-- registered) and error ('' for the requests that did not fail). Kept for
-- about two windows.
CREATE TABLE alert_buckets (
    start           timestamptz NOT NULL,
    width_ns        bigint NOT NULL,
    route           text NOT NULL,
    client_id       text NOT NULL,
    error           text NOT NULL,
    requests        bigint NOT NULL,
    failures        bigint NOT NULL,
    first_failure   timestamptz,
    last_failure    timestamptz,
    PRIMARY KEY (start, width_ns, route, client_id, error)
);

-- The overview charts' buckets (one minute by default, kept 24 hours): per
-- route and latency bin (its upper bound in microseconds, 0 for the open
-- last bin), the requests and how many of them failed.
CREATE TABLE traffic_buckets (
    start           timestamptz NOT NULL,
    width_ns        bigint NOT NULL,
    route           text NOT NULL,
    latency_le_us   bigint NOT NULL,
    requests        bigint NOT NULL,
    failures        bigint NOT NULL,
    PRIMARY KEY (start, width_ns, route, latency_le_us)
);
