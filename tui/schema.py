"""The SQLite schema and its ordered migrations.

A reviewer should understand the file with the `sqlite3` shell alone: plain column names,
times as fixed-width UTC text, JSON for lists, and `decisions` protected by triggers so it is
append-only in fact, not only by convention.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation
    """
    CREATE TABLE schema_version (
        version    INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL
    );

    CREATE TABLE mentions (
        id                INTEGER PRIMARY KEY,
        source            TEXT NOT NULL,            -- the network: mastodon, bluesky, rss...
        source_name       TEXT NOT NULL,            -- the configured source that delivered it
        native_id         TEXT NOT NULL,
        kind              TEXT NOT NULL,
        url               TEXT,
        published_at      TEXT NOT NULL,
        received_at       TEXT NOT NULL,            -- minus published_at: detection latency
        edited_at         TEXT,
        deleted           INTEGER NOT NULL DEFAULT 0,
        author_id         TEXT,
        author_handle     TEXT NOT NULL,
        author_name       TEXT,
        author_url        TEXT,
        author_followers  INTEGER,
        author_bot        INTEGER,
        text              TEXT NOT NULL,            -- sanitised plain text
        title             TEXT,
        language          TEXT,
        content_warning   TEXT,
        in_reply_to_id    TEXT,
        thread_id         TEXT,
        hashtags          TEXT NOT NULL DEFAULT '[]',  -- JSON array
        mentioned_handles TEXT NOT NULL DEFAULT '[]',  -- JSON array
        links             TEXT NOT NULL DEFAULT '[]',  -- JSON array
        engagement        TEXT NOT NULL DEFAULT '{}',  -- JSON object: likes, reposts, replies...
        raw               TEXT NOT NULL DEFAULT '{}',  -- the payload as received, unsanitised
        status            TEXT NOT NULL DEFAULT 'new'
                          CHECK (status IN ('new', 'escalated', 'snoozed', 'done', 'dismissed')),
        priority          TEXT NOT NULL DEFAULT 'normal'
                          CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
        priority_rank     INTEGER GENERATED ALWAYS AS (
                              CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1
                                            WHEN 'normal' THEN 2 ELSE 3 END) VIRTUAL,
        sla_due_at        TEXT,
        UNIQUE (source_name, native_id)
    );
    CREATE INDEX mentions_queue ON mentions (status, priority_rank, received_at);

    CREATE TABLE suggestions (
        id               INTEGER PRIMARY KEY,
        mention_id       INTEGER NOT NULL REFERENCES mentions (id),
        rank             INTEGER NOT NULL,          -- 0 is the top suggestion, what `a` accepts
        playbook_id      TEXT NOT NULL,
        playbook_version TEXT NOT NULL,             -- content hash of the playbook file
        rule_id          TEXT NOT NULL,
        action           TEXT NOT NULL,
        params           TEXT NOT NULL DEFAULT '{}',  -- JSON: team, reason, tags, reply
        priority         TEXT NOT NULL,
        sla_due_at       TEXT,
        why              TEXT NOT NULL,             -- the matched conditions, in words
        created_at       TEXT NOT NULL,
        UNIQUE (mention_id, rank)
    );

    CREATE TABLE decisions (
        id            INTEGER PRIMARY KEY,
        mention_id    INTEGER NOT NULL REFERENCES mentions (id),
        actor         TEXT NOT NULL,
        action        TEXT NOT NULL,                -- reply, escalate, tag, dismiss, ..., undo
        params        TEXT NOT NULL DEFAULT '{}',   -- JSON
        suggestion_id INTEGER REFERENCES suggestions (id),
        outcome       TEXT CHECK (outcome IN ('accepted', 'edited', 'overridden', 'none_offered')),
                                                    -- NULL for an undo: it answers no suggestion
        reverses_id   INTEGER REFERENCES decisions (id),  -- set on an undo
        view          TEXT,
        shown_at      TEXT,                         -- first shown to this actor
        decided_at    TEXT NOT NULL,
        status_before TEXT NOT NULL,
        status_after  TEXT NOT NULL
    );
    CREATE INDEX decisions_mention ON decisions (mention_id);
    CREATE INDEX decisions_actor ON decisions (actor, id);
    CREATE UNIQUE INDEX decisions_one_undo ON decisions (reverses_id) WHERE reverses_id IS NOT NULL;
    CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only: log a reversing decision instead'); END;
    CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only: log a reversing decision instead'); END;

    CREATE TABLE claims (
        mention_id  INTEGER PRIMARY KEY REFERENCES mentions (id),
        actor       TEXT NOT NULL,
        claimed_at  TEXT NOT NULL,
        lease_until TEXT NOT NULL                   -- expired leases are free to take
    );

    CREATE TABLE source_state (
        name         TEXT PRIMARY KEY,
        type         TEXT NOT NULL,
        cursor       TEXT,                          -- where a restart resumes
        state        TEXT NOT NULL,
        last_success TEXT,
        last_error   TEXT,
        retry_at     TEXT,
        received     INTEGER NOT NULL DEFAULT 0,
        malformed    INTEGER NOT NULL DEFAULT 0,
        updated_at   TEXT NOT NULL
    );
    """,
    # 2: suggestions carry their score (priority base + rule weight), the order's explanation
    """
    ALTER TABLE suggestions ADD COLUMN score INTEGER;
    """,
    # 3: what the desk filters on, projected from the decision log; claims belong to a desk
    """
    ALTER TABLE mentions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';  -- suggested and applied
    ALTER TABLE mentions ADD COLUMN assignee TEXT;
    ALTER TABLE mentions ADD COLUMN snoozed_until TEXT;
    UPDATE mentions SET tags = coalesce((
        SELECT json_extract(s.params, '$.tags') FROM suggestions s
        WHERE s.mention_id = mentions.id AND s.rank = 0
          AND json_extract(s.params, '$.tags') IS NOT NULL), '[]');
    ALTER TABLE claims ADD COLUMN session TEXT NOT NULL DEFAULT '';  -- the desk process
    CREATE INDEX claims_session ON claims (session);
    CREATE INDEX mentions_snoozed ON mentions (snoozed_until) WHERE snoozed_until IS NOT NULL;
    """,
    # 4: one process fetches each source at a time: the holder of a renewed lease
    """
    ALTER TABLE source_state ADD COLUMN holder TEXT;       -- the process fetching it
    ALTER TABLE source_state ADD COLUMN holder_until TEXT; -- free once this has passed
    """,
    # 5: views sorted by arrival (All, sort:newest|oldest) read an index instead of sorting
    """
    CREATE INDEX mentions_received ON mentions (received_at);
    """,
    # 6: decisions with an outside effect (a reply posted, a team told) and their delivery
    """
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        decision_id     INTEGER NOT NULL REFERENCES decisions (id),
        mention_id      INTEGER NOT NULL REFERENCES mentions (id),
        kind            TEXT NOT NULL CHECK (kind IN ('reply', 'escalate', 'notify', 'retract')),
        target          TEXT NOT NULL,              -- the source (replies) or team it goes to
        channel         TEXT NOT NULL,              -- mastodon, bluesky, webhook, slack, command
        payload         TEXT NOT NULL,              -- JSON: exactly what is sent, no secrets
        idempotency_key TEXT NOT NULL UNIQUE,       -- the same on every attempt
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed', 'cancelled', 'dry_run')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        holder          TEXT,                       -- the process sending it right now
        holder_until    TEXT,                       -- after which another may try
        created_at      TEXT NOT NULL,              -- when the decision was made
        sent_at         TEXT,                       -- minus created_at: time to delivery
        remote_id       TEXT,                       -- the posted status, the ticket...
        remote_url      TEXT,
        last_error      TEXT,
        retracts_id     INTEGER REFERENCES outbox (id)  -- a 'retract' deletes this reply
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
    CREATE INDEX outbox_mention ON outbox (mention_id);
    CREATE INDEX outbox_decision ON outbox (decision_id);
    """,
    # 7: reviewers' notes on decisions: their own append-only records
    """
    CREATE TABLE review_notes (
        id          INTEGER PRIMARY KEY,
        decision_id INTEGER NOT NULL REFERENCES decisions (id),
        reviewer    TEXT NOT NULL,
        noted_at    TEXT NOT NULL,
        text        TEXT NOT NULL
    );
    CREATE INDEX review_notes_decision ON review_notes (decision_id);
    CREATE TRIGGER review_notes_append_only_update BEFORE UPDATE ON review_notes
    BEGIN SELECT RAISE(ABORT, 'review notes are append-only: add another note'); END;
    CREATE TRIGGER review_notes_append_only_delete BEFORE DELETE ON review_notes
    BEGIN SELECT RAISE(ABORT, 'review notes are append-only: add another note'); END;
    CREATE INDEX decisions_decided ON decisions (decided_at);
    """,
    # 8: each mention points at its first real decision (not a note, claim or undo): time to
    # first decision and SLA in a report are then one lookup per mention, not a grouping
    """
    ALTER TABLE mentions ADD COLUMN first_decision_id INTEGER REFERENCES decisions (id);
    UPDATE mentions SET first_decision_id = (
        SELECT min(d.id) FROM decisions d WHERE d.mention_id = mentions.id
          AND d.action NOT IN ('note', 'claim', 'release', 'undo'));
    """,
    # 9: what the report groups and ranks, kept where an index can serve it, so a report over
    # a million decisions walks indexes instead of sorting whole tables. Seconds are virtual
    # columns (the report's own formula); the first decision's time and view are copied onto
    # the mention by the ledger; a decision keeps its rule (suggestions are not rewritten).
    """
    ALTER TABLE mentions ADD COLUMN latency_s REAL GENERATED ALWAYS AS (
        (julianday(received_at) - julianday(published_at)) * 86400.0) VIRTUAL;
    ALTER TABLE mentions ADD COLUMN first_at TEXT;
    ALTER TABLE mentions ADD COLUMN first_view TEXT;
    ALTER TABLE mentions ADD COLUMN first_wait_s REAL GENERATED ALWAYS AS (
        (julianday(first_at) - julianday(received_at)) * 86400.0) VIRTUAL;
    UPDATE mentions SET (first_at, first_view) = (
        SELECT d.decided_at, coalesce(d.view, '(none)') FROM decisions d
        WHERE d.id = mentions.first_decision_id) WHERE first_decision_id IS NOT NULL;
    ALTER TABLE decisions ADD COLUMN rule TEXT;
    ALTER TABLE decisions ADD COLUMN team TEXT GENERATED ALWAYS AS (
        CASE action WHEN 'escalate' THEN json_extract(params, '$.team') END) VIRTUAL;
    ALTER TABLE decisions ADD COLUMN reason TEXT GENERATED ALWAYS AS (
        CASE action WHEN 'dismiss' THEN json_extract(params, '$.reason') END) VIRTUAL;
    DROP TRIGGER decisions_append_only_update;
    UPDATE decisions SET rule = (
        SELECT s.playbook_id || '/' || s.rule_id FROM suggestions s
        WHERE s.id = decisions.suggestion_id) WHERE suggestion_id IS NOT NULL;
    CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only: log a reversing decision instead'); END;
    CREATE INDEX mentions_latency ON mentions (source_name, source, latency_s, received_at);
    CREATE INDEX mentions_first_view ON mentions
        (first_view, first_wait_s, first_at, received_at, source_name, source)
        WHERE first_at IS NOT NULL;
    CREATE INDEX mentions_first_source ON mentions
        (source_name, first_wait_s, first_at, received_at, source) WHERE first_at IS NOT NULL;
    CREATE INDEX decisions_cube ON decisions
        (actor, action, outcome, rule, team, reason, decided_at, view);
    CREATE INDEX suggestions_rule ON suggestions (playbook_id, rule_id, rank);
    CREATE INDEX mentions_sla ON mentions (source_name, sla_due_at, first_at, received_at, source)
        WHERE sla_due_at IS NOT NULL;
    """,
    # 10: detection latency's index, cheap to write. Ordered by latency itself, each batch of
    # new mentions landed on as many pages as it had mentions, each written to the WAL and
    # checkpointed again: ~20 us of Store.ingest's ~50 a mention at 100k. Ordered by a coarse
    # bucket of it (one significant digit: 1.x s, 2.x s, ... 10-19 s, ...) and then arrival,
    # a batch lands on about as many pages as it has buckets: ~9 us. The report counts per
    # bucket in the index and sorts only the bucket that holds the rank it wants.
    """
    DROP INDEX mentions_latency;
    ALTER TABLE mentions ADD COLUMN latency_bucket INTEGER GENERATED ALWAYS AS (
        CASE WHEN latency_s < 0 THEN -1 ELSE 1 END
        * (length(CAST(CAST(abs(latency_s) * 10 AS INTEGER) AS TEXT)) * 10
           + CAST(substr(CAST(CAST(abs(latency_s) * 10 AS INTEGER) AS TEXT), 1, 1) AS INTEGER)
    )) VIRTUAL;
    CREATE INDEX mentions_latency_bucket ON mentions
        (source_name, source, latency_bucket, received_at, latency_s);
    """,
    # 11: trigram indexes of title and text, and of tags, so a filter's word or tag that few
    # mentions have is found without reading every row. Built behind the writes (tui.search),
    # never on the ingest path: `indexed_to` is the last id in them, and rows past it are read
    # directly. detail=none keeps only which mentions hold a trigram: 14 us a mention to add
    # and 80-170 bytes, against 20 us and twice the bytes with columns, 49 us with positions;
    # the filter checks each candidate anyway. So tags need a table of their own: without
    # columns, a query cannot say which one a trigram is in.
    # Breaches (the status bar counts them every 2 s) get an index of their own: without it
    # the count read every row, 0.7 s at a million.
    """
    CREATE VIRTUAL TABLE mention_search USING fts5 (
        title, text, content = 'mentions', content_rowid = 'id',
        tokenize = 'trigram', detail = 'none', columnsize = 0);
    CREATE VIRTUAL TABLE mention_tag_search USING fts5 (
        tags, content = 'mentions', content_rowid = 'id',
        tokenize = 'trigram', detail = 'none', columnsize = 0);
    CREATE TABLE search_state (indexed_to INTEGER NOT NULL);
    INSERT INTO search_state VALUES (0);
    CREATE TRIGGER mention_search_edit AFTER UPDATE OF title, text ON mentions
    WHEN old.id <= (SELECT indexed_to FROM search_state)
     AND (old.title IS NOT new.title OR old.text IS NOT new.text)
    BEGIN
        INSERT INTO mention_search (mention_search, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO mention_search (rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    CREATE TRIGGER mention_tag_search_edit AFTER UPDATE OF tags ON mentions
    WHEN old.id <= (SELECT indexed_to FROM search_state) AND old.tags IS NOT new.tags
    BEGIN
        INSERT INTO mention_tag_search (mention_tag_search, rowid, tags)
        VALUES ('delete', old.id, old.tags);
        INSERT INTO mention_tag_search (rowid, tags) VALUES (new.id, new.tags);
    END;
    CREATE INDEX mentions_breach ON mentions (status, sla_due_at) WHERE sla_due_at IS NOT NULL;
    """,
    # 12: Mine (assigned to me, or claimed by me) counted from an index, not every mention
    """
    CREATE INDEX mentions_assignee ON mentions (assignee) WHERE assignee IS NOT NULL;
    """,
    # 13: the due order (tui.query.DUE, Urgent's sort) read from an index. Urgent's first
    # screenful sorted every new urgent or high mention: 430-650 ms at 1M (346k of them),
    # 0.2 ms from this index; the whole view 1.1 s -> 0.28 s. It serves the breach count
    # too, so it replaces that index, whose terms now use the same expression.
    """
    DROP INDEX mentions_breach;
    CREATE INDEX mentions_due ON mentions (status, coalesce(sla_due_at, '9999'), priority_rank);
    """,
    # 14: the word index reads each title and text with two spaces after it, so a one- or
    # two-character word begins a trigram wherever it occurs (tui.search.short_expression),
    # and its vocabulary is readable. It is built again behind the writes, as after an import.
    """
    DROP TRIGGER mention_search_edit;
    DROP TABLE mention_search;
    CREATE VIEW mention_search_source AS
        SELECT id, title || '  ' AS title, text || '  ' AS text FROM mentions;
    CREATE VIRTUAL TABLE mention_search USING fts5 (
        title, text, content = 'mention_search_source', content_rowid = 'id',
        tokenize = 'trigram', detail = 'none', columnsize = 0);
    CREATE VIRTUAL TABLE mention_search_terms USING fts5vocab (mention_search, 'row');
    CREATE TRIGGER mention_search_edit AFTER UPDATE OF title, text ON mentions
    WHEN old.id <= (SELECT indexed_to FROM search_state)
     AND (old.title IS NOT new.title OR old.text IS NOT new.text)
    BEGIN
        INSERT INTO mention_search (mention_search, rowid, title, text)
        VALUES ('delete', old.id, old.title || '  ', old.text || '  ');
        INSERT INTO mention_search (rowid, title, text)
        VALUES (new.id, new.title || '  ', new.text || '  ');
    END;
    INSERT INTO mention_tag_search (mention_tag_search) VALUES ('delete-all');
    UPDATE search_state SET indexed_to = 0;
    """,
)

LATEST = len(MIGRATIONS)
