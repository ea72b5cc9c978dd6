//! The schema of the agent's database, step by step: `PRAGMA user_version` counts the
//! steps applied.

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: jobs, status outbox, connection events.
    "CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        requested_printer TEXT,
        printer TEXT,
        state TEXT NOT NULL,
        content_type TEXT NOT NULL,
        content BLOB NOT NULL,
        size_bytes INTEGER NOT NULL,
        copies INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        submit_started_at INTEGER,
        spooler_job_id INTEGER,
        error_code TEXT,
        error_message TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        expires_at INTEGER
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_received_at ON jobs(received_at);
    CREATE TABLE status_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE TABLE connection_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL
    );",
    // 2: reprints link to the job they reprint.
    "ALTER TABLE jobs ADD COLUMN reprint_of TEXT;",
    // 3: who asked for the job (a test page or reprint at this PC may use any printer,
    // also after a restart).
    "ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'server';",
    // 4: documents in a table of their own: SQLite rewrites a whole row on every update,
    // and a job's state changes must not copy (and write again) a document of many MB.
    "CREATE TABLE documents (
        job_id TEXT PRIMARY KEY,
        content BLOB NOT NULL
    );
    INSERT INTO documents (job_id, content) SELECT job_id, content FROM jobs WHERE content_type != 'none';
    ALTER TABLE jobs DROP COLUMN content;",
];
