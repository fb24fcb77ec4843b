-- Request counts that every process on the database adds to, so that the
-- error-rate rule and the overview charts see all of its traffic, and the
-- start of an issue's quiet period, so that every process judges it alike.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 means unset.
-- Bucket widths are INTEGER nanoseconds (an alert window's sixtieth need
-- not be a whole number of microseconds).

-- When the error-rate rule last found an open issue's window back at or
-- below the threshold; 0 while it is above.
ALTER TABLE issues ADD COLUMN healthy_since INTEGER NOT NULL DEFAULT 0;

-- The error-rate rule's buckets: one slot of the alert window (the window
-- divided by 60) per row and route, client (empty: none, or not
-- registered) and error ('' for the requests that did not fail). Kept for
-- about two windows.
CREATE TABLE alert_buckets (
    start           INTEGER NOT NULL,
    width_ns        INTEGER NOT NULL,
    route           TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    error           TEXT NOT NULL,
    requests        INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    first_failure   INTEGER NOT NULL DEFAULT 0,
    last_failure    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (start, width_ns, route, client_id, error)
) STRICT, WITHOUT ROWID;

-- The overview charts' buckets (one minute by default, kept 24 hours): per
-- route and latency bin (its upper bound in microseconds, 0 for the open
-- last bin), the requests and how many of them failed.
CREATE TABLE traffic_buckets (
    start           INTEGER NOT NULL,
    width_ns        INTEGER NOT NULL,
    route           TEXT NOT NULL,
    latency_le_us   INTEGER NOT NULL,
    requests        INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    PRIMARY KEY (start, width_ns, route, latency_le_us)
) STRICT, WITHOUT ROWID;
