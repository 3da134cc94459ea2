-- Who a request is from, in one statement (issue 20). Every request resolves its cookie or token
-- first; that took a transaction of three round trips (BEGIN with the authenticator scope, the
-- lookup, COMMIT). These functions do the lookup and its bookkeeping (ending a dead session,
-- recording activity at most once a minute, a token's last use) in one call, sent outside a
-- transaction: one round trip.
--
-- They run as the caller (pledge_app, not SECURITY DEFINER): the grants are the ones the lookup
-- had. Row-level security on `delegation_memberships` reads the authenticator scope: each
-- function sets `pledge.role` for its own query and gives the caller's value back before it
-- returns, so calling one inside a transaction leaves that transaction's scope as it was. (A
-- function's `SET pledge.role` clause would do the same, but PostgreSQL lets only a superuser
-- attach a custom setting to a function.)

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
    unread_notifications  bigint
)
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    caller_role text := current_setting('pledge.role', true);
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
               s.last_seen_at < now() - least(interval '60 seconds', idle / 2) AS stale_activity
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
           CASE WHEN ended_because IS NULL THEN pledge_unread_notifications(user_id) ELSE 0 END
    FROM found;
    PERFORM set_config('pledge.role', coalesce(caller_role, ''), true);
END
$$;
REVOKE ALL ON FUNCTION resolve_session(bytea, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolve_session(bytea, interval) TO pledge_app;

-- The owner of a live token (none for an unknown, revoked or expired token, or a disabled user),
-- recording its use at most once a minute.
CREATE FUNCTION resolve_token(hash bytea)
RETURNS TABLE (
    token_id              uuid,
    user_id               uuid,
    email                 text,
    display_name          text,
    role                  text,
    participant_id        uuid,
    delegation_role       text,
    must_change_password  boolean,
    has_second_factor     boolean,
    time_zone             text
)
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    caller_role text := current_setting('pledge.role', true);
BEGIN
    PERFORM set_config('pledge.role', 'authenticator', true);
    RETURN QUERY
    WITH used AS (
        UPDATE api_tokens SET last_used_at = now()
        WHERE token_hash = hash AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
    )
    SELECT t.id, u.id, u.email, u.display_name, u.role, m.participant_id, m.delegation_role,
           u.must_change_password, u.totp_enabled_at IS NOT NULL, u.time_zone
    FROM api_tokens t
    JOIN users u ON u.id = t.user_id
    LEFT JOIN delegation_memberships m ON m.user_id = u.id
    WHERE t.token_hash = hash AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL;
    PERFORM set_config('pledge.role', coalesce(caller_role, ''), true);
END
$$;
REVOKE ALL ON FUNCTION resolve_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolve_token(bytea) TO pledge_app;
