-- Changes announced to the service processes (issue 20). A process keeps a few things it read in
-- memory (a session and its user, the comparison page's reads) and trusts them only while no
-- table they were read from has changed since: every row written in one of these tables sends
-- `NOTIFY pledge_changes` with the table's name when its transaction commits (PostgreSQL sends
-- one per table and transaction, however many rows). Row triggers, not statement triggers: a
-- statement trigger fires for statements that change nothing, such as resolve_session's updates
-- of a session that needs none, and would announce a change on every request.
--
-- Each process listens, and before it answers from memory it waits for a Sync on its listening
-- connection sent after the request arrived: PostgreSQL delivers every notification whose
-- COMMIT returned before that Sync ahead of its reply, so nothing committed before a request
-- arrived is missed (`storage::coherence`). Changes that fire no trigger (a migration, a
-- restore) are announced as 'everything' by the code that makes them.
--
-- Tables not listed here may change without notice: no memo may depend on them.

CREATE FUNCTION announce_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('pledge_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    announced text;
BEGIN
    FOREACH announced IN ARRAY ARRAY['users', 'delegation_memberships', 'notifications',
        'cycles', 'frameworks', 'cycle_report_state', 'cycle_imports']
    LOOP
        EXECUTE format('CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON %I
                            FOR EACH ROW EXECUTE FUNCTION announce_change()', announced);
    END LOOP;
    FOREACH announced IN ARRAY ARRAY['sessions', 'users', 'delegation_memberships',
        'notifications', 'cycles', 'frameworks', 'cycle_report_state', 'cycle_imports']
    LOOP
        EXECUTE format('CREATE TRIGGER announce_truncate AFTER TRUNCATE ON %I
                            FOR EACH STATEMENT EXECUTE FUNCTION announce_change()', announced);
    END LOOP;
END
$$;

-- A session's recorded activity moving forward is not announced: it happens for every active
-- session once a minute and would void every kept session each time. Nothing kept goes wrong
-- by it: a kept answer ends when the session's next activity is due as it was read
-- (`unchanged_for` below), and a later recorded activity only moves the idle end later. Any other
-- change, and activity moved back, is announced.
CREATE TRIGGER announce_change AFTER INSERT OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION announce_change();
CREATE TRIGGER announce_update AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN (to_jsonb(OLD) - 'last_seen_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_seen_at'
          OR NEW.last_seen_at < OLD.last_seen_at)
    EXECUTE FUNCTION announce_change();

-- resolve_session also says for how long its answer stays the same if nothing it reads changes:
-- until the session's absolute lifetime ends or its next activity is due to be recorded,
-- whichever comes first (an idle end comes after both). A process may answer from memory for
-- that long.
DROP FUNCTION resolve_session(bytea, interval);
CREATE FUNCTION resolve_session(session_hash bytea, idle interval)
RETURNS TABLE (
    handle                uuid,
    user_id               uuid,
    email                 text,
    display_name          text,
    role                  text,
    participant_id        uuid,
    delegation_role       text,
    csrf_token            text,
    fully_authenticated   boolean,
    must_change_password  boolean,
    has_second_factor     boolean,
    time_zone             text,
    -- Why the session was ended by this call ('user_disabled', 'expired', 'idle'), or null
    -- when it is live.
    ended_because         text,
    unread_notifications  bigint,
    -- Seconds for which this answer holds while none of the tables read changes.
    unchanged_for         float8
)
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    caller_role text := current_setting('pledge.role', true);
    activity_every interval := least(interval '60 seconds', idle / 2);
BEGIN
    PERFORM set_config('pledge.role', 'authenticator', true);
    RETURN QUERY
    WITH found AS (
        SELECT s.handle, s.user_id, u.email, u.display_name, u.role, m.participant_id,
               m.delegation_role, s.csrf_token, s.fully_authenticated, u.must_change_password,
               u.totp_enabled_at IS NOT NULL AS has_second_factor, u.time_zone,
               CASE WHEN u.disabled_at IS NOT NULL THEN 'user_disabled'
                    WHEN s.expires_at < now() THEN 'expired'
                    WHEN s.last_seen_at + idle < now() THEN 'idle'
               END AS ended_because,
               s.last_seen_at < now() - activity_every AS stale_activity,
               s.last_seen_at, s.expires_at
        FROM sessions s
        JOIN users u ON u.id = s.user_id
        LEFT JOIN delegation_memberships m ON m.user_id = u.id
        WHERE s.id_hash = session_hash AND s.ended_at IS NULL
    ),
    ended AS (
        UPDATE sessions s SET ended_at = now(), end_reason = found.ended_because
        FROM found
        WHERE s.id_hash = session_hash AND s.ended_at IS NULL
          AND found.ended_because IS NOT NULL
    ),
    -- Activity is recorded at most once a minute (half the idle timeout if shorter): most
    -- requests write nothing.
    touched AS (
        UPDATE sessions s SET last_seen_at = now()
        FROM found
        WHERE s.id_hash = session_hash AND s.ended_at IS NULL
          AND found.ended_because IS NULL AND found.stale_activity
    )
    SELECT handle, user_id, email, display_name, role, participant_id, delegation_role,
           csrf_token, fully_authenticated, must_change_password, has_second_factor, time_zone,
           ended_because,
           CASE WHEN ended_because IS NULL THEN pledge_unread_notifications(user_id) ELSE 0 END,
           CASE WHEN ended_because IS NULL THEN greatest(0, extract(epoch FROM
               least(expires_at,
                     CASE WHEN stale_activity THEN now() ELSE last_seen_at END + activity_every)
               - now()))::float8
           ELSE 0 END
    FROM found;
    PERFORM set_config('pledge.role', coalesce(caller_role, ''), true);
END
$$;
REVOKE ALL ON FUNCTION resolve_session(bytea, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolve_session(bytea, interval) TO pledge_app;
