-- Notifications, issue 18 leftovers (src/notify/digest.rs, src/notify/retention.rs).
--
-- 1. Daily digests at each user's own local morning. A notice a user wants in their digest is
--    written to the outbox as 'held' (no longer 'pending' with a not_before at 06:00 UTC). The
--    scheduler's digest pass, once it is 06:00 or later in the user's time zone, writes one mail
--    of all their held rows and marks those rows 'digested', keyed once per user and local day
--    in mail_digests (inserted ON CONFLICT DO NOTHING in the same transaction): a restart or two
--    processes never send a user two digests for one day.
-- 2. Retention: the scheduler deletes rows no longer pending ('sent', 'failed', 'digested')
--    older than --mail-retention-days, in batches; 'pending' and 'held' rows are never deleted.

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_status_valid;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_status_valid
    CHECK (status IN ('pending', 'sent', 'failed', 'held', 'digested'));

-- Digest rows written before this migration wait for the next digest pass like new ones.
SELECT set_config('pledge.role', 'system', true);
UPDATE mail_outbox SET status = 'held' WHERE digest AND status = 'pending';
SELECT set_config('pledge.role', '', true);

-- The digest pass finds the users with held rows (few) without reading the others.
CREATE INDEX mail_outbox_held_idx ON mail_outbox (user_id) WHERE status = 'held';

-- One digest per user and local day (the day in the user's time zone when it was made).
CREATE TABLE mail_digests (
    user_id     uuid        NOT NULL,
    local_day   date        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mail_digests_pkey PRIMARY KEY (user_id, local_day),
    CONSTRAINT mail_digests_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

ALTER TABLE mail_digests ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_digests FORCE ROW LEVEL SECURITY;
CREATE POLICY mail_digests_system ON mail_digests FOR ALL
    USING (pledge_role() = 'system') WITH CHECK (pledge_role() = 'system');

-- Only the system scope (the scheduler) deletes outbox rows, and never a pending or held one.
CREATE POLICY mail_outbox_delete ON mail_outbox FOR DELETE
    USING (pledge_role() = 'system' AND status IN ('sent', 'failed', 'digested'));

GRANT DELETE ON mail_outbox TO pledge_app;
GRANT SELECT, INSERT, DELETE ON mail_digests TO pledge_app;
