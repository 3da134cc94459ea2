-- Migration 0019 gave every function then present a fixed search_path (pg_dump and pg_restore
-- run with an empty one). Functions added since by 0015-0021 (trigger functions, security-definer
-- report functions) get the same here. The row-level-security helpers (pledge_*) are left alone:
-- they stay inlinable and name their objects with `public.` (see 0019).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = 'public'::regnamespace
          AND p.proname NOT LIKE 'pledge\_%'
          AND coalesce(array_to_string(p.proconfig, ',') NOT LIKE '%search_path=%', true)
          AND (l.lanname = 'plpgsql' OR p.prosecdef)
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = public, pg_temp', f);
    END LOOP;
END $$;

-- 0016's head check is a row-level-security helper: inlinable (no SET), objects named in full.
CREATE OR REPLACE FUNCTION pledge_is_head(participant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT public.pledge_role() = 'delegation' AND participant = public.pledge_participant()
        AND pg_catalog.current_setting('pledge.delegation_role', true) = 'head'
$$;
