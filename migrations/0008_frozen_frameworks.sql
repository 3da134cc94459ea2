-- A framework version used by a cycle is frozen: the database refuses any change to its content
-- (the service refuses first, with a message that says to copy it as a new version).

CREATE FUNCTION framework_is_frozen(framework uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce((SELECT frozen_at IS NOT NULL FROM frameworks WHERE id = framework), false) $$;

CREATE FUNCTION refuse_frozen_framework_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    framework uuid;
    old_framework uuid;
BEGIN
    IF TG_TABLE_NAME = 'frameworks' THEN
        IF OLD.frozen_at IS NULL THEN
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        -- Freezing itself and bookkeeping are fine; the content is not.
        IF TG_OP = 'UPDATE'
           AND (NEW.family, NEW.version, NEW.title_en, NEW.title_fr, NEW.description_en,
                NEW.description_fr, NEW.roll_up)
               IS NOT DISTINCT FROM
               (OLD.family, OLD.version, OLD.title_en, OLD.title_fr, OLD.description_en,
                OLD.description_fr, OLD.roll_up)
           AND NEW.frozen_at IS NOT NULL THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'framework % is frozen: it is used by a cycle; copy it as a new version', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'frameworks_frozen';
    END IF;
    IF TG_TABLE_NAME = 'maturity_levels' THEN
        SELECT g.framework_id INTO framework FROM goals g
        WHERE g.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.goal_id ELSE NEW.goal_id END;
    ELSIF TG_OP = 'DELETE' THEN
        framework := OLD.framework_id;
    ELSE
        framework := NEW.framework_id;
    END IF;
    -- An update must not move a row out of a frozen version either.
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'maturity_levels' THEN
            SELECT g.framework_id INTO old_framework FROM goals g WHERE g.id = OLD.goal_id;
        ELSE
            old_framework := OLD.framework_id;
        END IF;
    END IF;
    IF framework_is_frozen(framework) OR framework_is_frozen(old_framework) THEN
        RAISE EXCEPTION 'framework % is frozen: it is used by a cycle; copy it as a new version', framework
            USING ERRCODE = 'check_violation', CONSTRAINT = 'frameworks_frozen';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER frameworks_frozen BEFORE UPDATE OR DELETE ON frameworks
    FOR EACH ROW EXECUTE FUNCTION refuse_frozen_framework_change();
CREATE TRIGGER framework_sections_frozen BEFORE INSERT OR UPDATE OR DELETE ON framework_sections
    FOR EACH ROW EXECUTE FUNCTION refuse_frozen_framework_change();
CREATE TRIGGER goals_frozen BEFORE INSERT OR UPDATE OR DELETE ON goals
    FOR EACH ROW EXECUTE FUNCTION refuse_frozen_framework_change();
CREATE TRIGGER maturity_levels_frozen BEFORE INSERT OR UPDATE OR DELETE ON maturity_levels
    FOR EACH ROW EXECUTE FUNCTION refuse_frozen_framework_change();

-- A cycle's framework is frozen by the same transaction that creates the cycle.
CREATE FUNCTION freeze_framework_of_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE frameworks SET frozen_at = coalesce(frozen_at, now()) WHERE id = NEW.framework_id;
    RETURN NEW;
END $$;

CREATE TRIGGER cycles_freeze_framework AFTER INSERT OR UPDATE OF framework_id ON cycles
    FOR EACH ROW EXECUTE FUNCTION freeze_framework_of_cycle();

-- Participants are never deleted once they have data (foreign keys refuse it); partners carry a
-- code chosen by the secretariat, still three letters.
COMMENT ON COLUMN participants.active IS 'Inactive participants keep their data and get no new assessments.';
