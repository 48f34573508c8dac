-- 0002: every KCIDB v5.3 field in the results tables, and failing builds by time.
--
-- Lists and objects are JSON text, like misc (git_commit_tags: a list of
-- strings; patchset_files, input_files, output_files: lists of
-- {"name", "url"} resources; number: {"value", "unit", "prefix"}). They are
-- replaced whole on resubmission (only misc merges key by key). Adding a
-- nullable column without a default rewrites no rows on either database.

ALTER TABLE checkouts ADD COLUMN git_commit_tags TEXT;
ALTER TABLE checkouts ADD COLUMN git_repository_branch_tip BOOLEAN;
ALTER TABLE checkouts ADD COLUMN patchset_files TEXT;
ALTER TABLE checkouts ADD COLUMN message_id TEXT;
ALTER TABLE checkouts ADD COLUMN origin_builds_finish_time TEXT;
ALTER TABLE checkouts ADD COLUMN origin_tests_finish_time TEXT;

ALTER TABLE builds ADD COLUMN config_url TEXT;
ALTER TABLE builds ADD COLUMN input_files TEXT;
ALTER TABLE builds ADD COLUMN output_files TEXT;

ALTER TABLE tests ADD COLUMN number TEXT;
ALTER TABLE tests ADD COLUMN input_files TEXT;
ALTER TABLE tests ADD COLUMN output_files TEXT;

-- `gatehouse triage --since` also re-triages failed builds (failing_builds_since).
-- Like tests_by_status, new rows land at the end of their status's range:
-- an append, not a random insert.
CREATE INDEX builds_by_status ON builds (status, _timestamp);
