//! The hub's schema, step by step; `PRAGMA user_version` counts the steps applied.

pub(super) const MIGRATIONS: &[&str] = &[
    "CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        connected INTEGER NOT NULL DEFAULT 0,
        socket_id TEXT,
        last_seen INTEGER NOT NULL,
        info TEXT
    );
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        error TEXT,
        delivered_to TEXT
    );
    CREATE INDEX jobs_client_state ON jobs(client_id, state);
    CREATE TABLE job_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        status TEXT NOT NULL
    );",
    // 2: a job's history is read by job id (and purged with it); the upkeep finds
    // waiting jobs by expiry and finished ones by age.
    "CREATE INDEX job_events_job ON job_events(job_id);
    CREATE INDEX jobs_state_expiry ON jobs(state, expires_at);
    CREATE INDEX jobs_state_updated ON jobs(state, updated_at);",
    // 3: when a job first went to its PC, and when someone asked to cancel it while
    // the PC had it (the console's timeline and cancel).
    "ALTER TABLE jobs ADD COLUMN delivered_at INTEGER;
    ALTER TABLE jobs ADD COLUMN cancel_requested_at INTEGER;",
];
