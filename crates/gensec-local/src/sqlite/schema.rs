//! The database schema as numbered migrations: `PRAGMA user_version` is the
//! number applied. Migrations are append-only; existing databases move
//! forward by running the ones they lack.

/// Every migration, in order.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: request tracking and the control library.
    "CREATE TABLE requests (
        request_id    TEXT PRIMARY KEY,
        service_id    TEXT NOT NULL,
        service_name  TEXT NOT NULL,
        profile_id    TEXT NOT NULL,
        requester     TEXT NOT NULL,
        requested_at  TEXT NOT NULL,
        state         TEXT NOT NULL,
        output_prefix TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE TABLE request_attempts (
        request_id  TEXT NOT NULL REFERENCES requests(request_id),
        attempt     INTEGER NOT NULL,
        state       TEXT NOT NULL,
        stage       TEXT,
        error       TEXT,
        started_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        finished_at TEXT,
        PRIMARY KEY (request_id, attempt)
    );
    CREATE INDEX requests_by_update ON requests(updated_at);
    CREATE TABLE library_entries (
        configuration_id TEXT PRIMARY KEY,
        service_id       TEXT NOT NULL,
        status           TEXT NOT NULL,
        version          INTEGER NOT NULL,
        body             TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX library_by_service ON library_entries(service_id);
    CREATE TABLE library_history (
        configuration_id TEXT NOT NULL REFERENCES library_entries(configuration_id),
        version          INTEGER NOT NULL,
        status           TEXT NOT NULL,
        actor            TEXT NOT NULL,
        note             TEXT,
        at               TEXT NOT NULL
    );",
    // 2: once-per-finding state of remediation notifications.
    "CREATE TABLE finding_state (
        finding_id         TEXT PRIMARY KEY,
        fingerprint        TEXT NOT NULL,
        state              TEXT NOT NULL,
        finding_updated_at TEXT NOT NULL,
        notified_at        TEXT,
        updated_at         TEXT NOT NULL
    );",
    // 3: language model usage of an attempt, as JSON (`LlmUsage`); NULL without a model.
    "ALTER TABLE request_attempts ADD COLUMN llm_usage TEXT;",
    // 4: who runs an attempt, as JSON (`Runner`); NULL when unknown.
    "ALTER TABLE request_attempts ADD COLUMN runner TEXT;",
    // 5: library entries keyed by (configuration id, profile id); one history
    // row per version (duplicates written by concurrent runs are dropped,
    // the first kept); service-level decisions. An existing entry takes the
    // profile of its source request when that request is known, else 'unknown'.
    "CREATE TABLE library_entries_v5 (
        configuration_id TEXT NOT NULL,
        profile_id       TEXT NOT NULL,
        service_id       TEXT NOT NULL,
        status           TEXT NOT NULL,
        version          INTEGER NOT NULL,
        body             TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        PRIMARY KEY (configuration_id, profile_id)
    );
    INSERT INTO library_entries_v5
        SELECT e.configuration_id,
               COALESCE((SELECT r.profile_id FROM requests r
                         WHERE r.request_id = json_extract(e.body, '$.source_request_id')
                           AND r.profile_id <> ''), 'unknown'),
               e.service_id, e.status, e.version, e.body, e.updated_at
        FROM library_entries e;
    CREATE TABLE library_history_v5 (
        configuration_id TEXT NOT NULL,
        profile_id       TEXT NOT NULL,
        version          INTEGER NOT NULL,
        status           TEXT NOT NULL,
        actor            TEXT NOT NULL,
        note             TEXT,
        at               TEXT NOT NULL,
        PRIMARY KEY (configuration_id, profile_id, version),
        FOREIGN KEY (configuration_id, profile_id)
            REFERENCES library_entries_v5(configuration_id, profile_id)
    );
    INSERT INTO library_history_v5
        SELECT h.configuration_id, e.profile_id, h.version, h.status, h.actor, h.note, h.at
        FROM library_history h JOIN library_entries_v5 e ON e.configuration_id = h.configuration_id
        WHERE h.rowid IN (SELECT MIN(rowid) FROM library_history
                          GROUP BY configuration_id, version);
    DROP TABLE library_history;
    DROP TABLE library_entries;
    ALTER TABLE library_entries_v5 RENAME TO library_entries;
    ALTER TABLE library_history_v5 RENAME TO library_history;
    CREATE INDEX library_by_service ON library_entries(service_id);
    CREATE TABLE service_decisions (
        service_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        version    INTEGER NOT NULL,
        decision   TEXT NOT NULL,
        conditions TEXT,
        actor      TEXT NOT NULL,
        reason     TEXT NOT NULL,
        at         TEXT NOT NULL,
        PRIMARY KEY (service_id, profile_id, version)
    );",
];
