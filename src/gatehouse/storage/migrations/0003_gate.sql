-- 0003: the gate's persisted state, its inbox of requests, and its builds' pipelines.
--
-- gate_state holds one row per queue (a target branch of a project): the
-- state machine's JSON (gatehouse.core.gate.codec) and a version that every
-- save compares and increments, so two drivers can never both write a queue.
-- gate_inbox is how other processes (gatehouse gate enqueue, dequeue, pause …)
-- hand requests to the one process that drives the queue; a request is
-- closed (done_at, outcome) in the same transaction as the state it changed.
-- gate_builds links a gate build to the pipeline(s) that ran it (a build
-- re-issued after a restart gets a second pipeline).

CREATE TABLE gate_state (
    queue TEXT NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL CHECK (version >= 1),
    state TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE gate_inbox (
    id {{identity}},
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    posted_at DOUBLE PRECISION NOT NULL,
    done_at DOUBLE PRECISION,
    outcome TEXT
);
CREATE INDEX gate_inbox_by_queue ON gate_inbox (queue, id);

CREATE TABLE gate_builds (
    queue TEXT NOT NULL,
    build BIGINT NOT NULL,
    item BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    PRIMARY KEY (queue, build, pipeline_id)
);
CREATE INDEX gate_builds_by_item ON gate_builds (queue, item);
