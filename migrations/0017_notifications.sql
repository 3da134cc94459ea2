-- Notifications (issue 18, part B; src/notify/mod.rs): what happened, for whom. Each event
-- writes, in the transaction of the change that causes it, one in-app row per recipient and,
-- unless the recipient turned that kind off, one mail row in the outbox, both already in the
-- recipient's language. The sender loop inside `pledge serve` claims outbox rows with
-- FOR UPDATE SKIP LOCKED and records the outcome; reminders are scheduled once per key.

-- In-app notifications: only their recipient reads them and marks them read.
CREATE TABLE notifications (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    -- a path inside the service ("/assessments/…"): mails prefix the public address
    link        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT notifications_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT notifications_link_local CHECK (link LIKE '/%' AND link NOT LIKE '//%')
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

-- Per user and kind: 'immediately' (the default when there is no row), 'digest' (one mail a
-- day) or 'off' (no mail; the in-app list still shows it). Security notices have no row: they
-- cannot be turned off.
CREATE TABLE notification_preferences (
    user_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    delivery    text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_preferences_pkey PRIMARY KEY (user_id, kind),
    CONSTRAINT notification_preferences_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT notification_preferences_delivery_valid CHECK (delivery IN ('immediately', 'digest', 'off')),
    CONSTRAINT notification_preferences_kind_not_security CHECK (kind NOT LIKE 'security.%')
);

-- The mail outbox. A row is 'pending' until sent ('sent') or given up ('failed'). A sender
-- claims due rows (not_before passed, no live claim) for a lease: a sender that dies between
-- claiming and sending leaves a claim that expires, and the row is taken again.
CREATE TABLE mail_outbox (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid,
    recipient      text        NOT NULL,
    language       text        NOT NULL,
    kind           text        NOT NULL,
    subject        text        NOT NULL,
    body           text        NOT NULL,
    link           text        NOT NULL,
    -- part of the recipient's daily digest rather than a mail of its own
    digest         boolean     NOT NULL DEFAULT false,
    status         text        NOT NULL DEFAULT 'pending',
    attempts       integer     NOT NULL DEFAULT 0,
    not_before     timestamptz NOT NULL DEFAULT now(),
    claimed_by     uuid,
    claimed_until  timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    CONSTRAINT mail_outbox_pkey PRIMARY KEY (id),
    CONSTRAINT mail_outbox_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT mail_outbox_status_valid CHECK (status IN ('pending', 'sent', 'failed')),
    CONSTRAINT mail_outbox_language_valid CHECK (language IN ('en', 'fr')),
    CONSTRAINT mail_outbox_attempts_nonnegative CHECK (attempts >= 0),
    CONSTRAINT mail_outbox_link_local CHECK (link LIKE '/%' AND link NOT LIKE '//%')
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (not_before) WHERE status = 'pending';
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at DESC);

-- Reminders and overdue notices already scheduled: one row per cycle, participant, notice and
-- day offset. The row is inserted with ON CONFLICT DO NOTHING in the transaction that writes
-- the notifications, so a restart or two processes never schedule one twice.
CREATE TABLE scheduled_notices (
    cycle_id        uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    notice          text        NOT NULL,
    days_before     integer     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_notices_pkey PRIMARY KEY (cycle_id, participant_id, notice, days_before),
    CONSTRAINT scheduled_notices_cycle_fkey FOREIGN KEY (cycle_id) REFERENCES cycles (id) ON DELETE CASCADE,
    CONSTRAINT scheduled_notices_participant_fkey FOREIGN KEY (participant_id) REFERENCES participants (id),
    CONSTRAINT scheduled_notices_notice_valid CHECK (notice IN ('reminder', 'overdue'))
);

-- Anyone's action may notify anyone (as anyone's action may be audited); only the recipient
-- reads or marks their notifications — admins included. Not FORCEd (like the audit log): the
-- owner's pledge_unread_notifications() below counts without reading any row out.
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_insert ON notifications FOR INSERT WITH CHECK (true);
CREATE POLICY notifications_read ON notifications FOR SELECT
    USING (user_id = pledge_user() OR pledge_role() = 'system');
CREATE POLICY notifications_update ON notifications FOR UPDATE
    USING (user_id = pledge_user()) WITH CHECK (user_id = pledge_user());

-- Preferences: read by whoever writes a notification (to choose the delivery); changed by
-- their owner only.
ALTER TABLE notification_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_preferences FORCE ROW LEVEL SECURITY;
CREATE POLICY notification_preferences_read ON notification_preferences FOR SELECT USING (true);
CREATE POLICY notification_preferences_write ON notification_preferences FOR ALL
    USING (user_id = pledge_user() OR pledge_role() = 'system')
    WITH CHECK (user_id = pledge_user() OR pledge_role() = 'system');

-- The outbox: written by any event, read by admins (the outbox page) and the sender (system).
ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY mail_outbox_insert ON mail_outbox FOR INSERT WITH CHECK (true);
CREATE POLICY mail_outbox_read ON mail_outbox FOR SELECT USING (pledge_is_staff());
CREATE POLICY mail_outbox_update ON mail_outbox FOR UPDATE
    USING (pledge_role() = 'system') WITH CHECK (pledge_role() = 'system');

ALTER TABLE scheduled_notices ENABLE ROW LEVEL SECURITY;
ALTER TABLE scheduled_notices FORCE ROW LEVEL SECURITY;
CREATE POLICY scheduled_notices_system ON scheduled_notices FOR ALL
    USING (pledge_role() = 'system') WITH CHECK (pledge_role() = 'system');

-- The layout's unread count is read with the session (authenticator scope), which reads no
-- notification: this gives the count, and nothing else, for the session's user.
CREATE FUNCTION pledge_unread_notifications(for_user uuid) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*) FROM notifications WHERE user_id = for_user AND read_at IS NULL
$$;
REVOKE ALL ON FUNCTION pledge_unread_notifications(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pledge_unread_notifications(uuid) TO pledge_app;

GRANT SELECT, INSERT, UPDATE ON notifications, mail_outbox TO pledge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_preferences TO pledge_app;
GRANT SELECT, INSERT ON scheduled_notices TO pledge_app;
