-- Evidence and derived state, one row per record, every row carrying tenant, learner and course.
-- Run by the owner role (it owns the tables); the service connects as `mastery_app`, which owns
-- nothing, cannot bypass row-level security, and may only SELECT, INSERT and UPDATE.
--
-- Ids compare byte-wise (COLLATE "C") so listings come back in the order the Rust core sorts keys.

CREATE TABLE evidence (
    tenant  text COLLATE "C" NOT NULL,
    learner text COLLATE "C" NOT NULL,
    -- NULL: evidence outside any course.
    course  text COLLATE "C",
    id      text COLLATE "C" NOT NULL,
    -- Append order (learner_evidence and course_evidence read in it).
    seq     bigint GENERATED ALWAYS AS IDENTITY,
    body    jsonb NOT NULL,
    -- The idempotency key: unique per (tenant, learner), so one learner can neither probe nor
    -- squat another's ids.
    CONSTRAINT evidence_key PRIMARY KEY (tenant, learner, id)
);
CREATE INDEX evidence_by_learner ON evidence (tenant, learner, seq);
CREATE INDEX evidence_by_course ON evidence (tenant, course, seq);

CREATE TABLE state (
    tenant    text COLLATE "C" NOT NULL,
    learner   text COLLATE "C" NOT NULL,
    course    text COLLATE "C",
    namespace text COLLATE "C" NOT NULL,
    name      text COLLATE "C" NOT NULL,
    value     jsonb NOT NULL,
    CONSTRAINT state_key UNIQUE NULLS NOT DISTINCT (tenant, learner, course, namespace, name)
);
CREATE INDEX state_by_course ON state (tenant, course, namespace);

-- The caller's identity, set per transaction by the service with set_config(..., true) from the
-- core's AccessContext: mastery.tenant, mastery.user, mastery.roles (comma-separated: learner,
-- instructor, admin, service), mastery.courses and mastery.enrolled (JSON arrays of course ids).
-- Unset settings read as NULL / empty, which matches no row.
CREATE SCHEMA mastery_rls;

CREATE FUNCTION mastery_rls.tenant() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('mastery.tenant', true), '') $$;

CREATE FUNCTION mastery_rls.uid() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('mastery.user', true), '') $$;

CREATE FUNCTION mastery_rls.has_role(role text) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT role = ANY (string_to_array(coalesce(current_setting('mastery.roles', true), ''), ',')) $$;

CREATE FUNCTION mastery_rls.in_list(setting text, course text) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT course IS NOT NULL AND coalesce(
       (nullif(current_setting(setting, true), '')::jsonb) ? course, false) $$;

-- Who may see or write a learner's row in a course (NULL: outside any course). Mirrors
-- mastery_core::access::authorize_learner.
CREATE FUNCTION mastery_rls.may_read(learner text, course text) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT mastery_rls.has_role('admin') OR mastery_rls.has_role('service')
       OR (mastery_rls.has_role('learner') AND learner = mastery_rls.uid())
       OR mastery_rls.in_list('mastery.courses', course) $$;

CREATE FUNCTION mastery_rls.may_write(learner text, course text) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT mastery_rls.has_role('admin') OR mastery_rls.has_role('service')
       OR (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()
           AND (course IS NULL OR mastery_rls.in_list('mastery.enrolled', course)))
       OR mastery_rls.in_list('mastery.courses', course) $$;

ALTER TABLE evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence FORCE ROW LEVEL SECURITY;
ALTER TABLE state ENABLE ROW LEVEL SECURITY;
ALTER TABLE state FORCE ROW LEVEL SECURITY;

-- The tenant wall: restrictive, so it is ANDed with whichever role policy lets a row through.
CREATE POLICY tenant_wall ON evidence AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());
CREATE POLICY tenant_wall ON state AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());

-- Permissive policies, one per role (ORed). Evidence is append-only: no UPDATE or DELETE policy.
CREATE POLICY learner_own ON evidence FOR SELECT
    USING (mastery_rls.has_role('learner') AND learner = mastery_rls.uid());
CREATE POLICY learner_own_write ON evidence FOR INSERT
    WITH CHECK (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()
                AND (course IS NULL OR mastery_rls.in_list('mastery.enrolled', course)));
CREATE POLICY instructor_course ON evidence FOR SELECT
    USING (mastery_rls.in_list('mastery.courses', course));
CREATE POLICY instructor_course_write ON evidence FOR INSERT
    WITH CHECK (mastery_rls.in_list('mastery.courses', course));
CREATE POLICY tenant_admin ON evidence FOR ALL
    USING (mastery_rls.has_role('admin')) WITH CHECK (mastery_rls.has_role('admin'));
CREATE POLICY service ON evidence FOR ALL
    USING (mastery_rls.has_role('service')) WITH CHECK (mastery_rls.has_role('service'));

CREATE POLICY learner_own ON state FOR SELECT
    USING (mastery_rls.has_role('learner') AND learner = mastery_rls.uid());
CREATE POLICY learner_own_write ON state FOR ALL
    USING (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()
           AND (course IS NULL OR mastery_rls.in_list('mastery.enrolled', course)))
    WITH CHECK (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()
                AND (course IS NULL OR mastery_rls.in_list('mastery.enrolled', course)));
CREATE POLICY instructor_course ON state FOR ALL
    USING (mastery_rls.in_list('mastery.courses', course))
    WITH CHECK (mastery_rls.in_list('mastery.courses', course));
CREATE POLICY tenant_admin ON state FOR ALL
    USING (mastery_rls.has_role('admin')) WITH CHECK (mastery_rls.has_role('admin'));
CREATE POLICY service ON state FOR ALL
    USING (mastery_rls.has_role('service')) WITH CHECK (mastery_rls.has_role('service'));

-- The app role gets rows through the policies only. (`mastery_app` is created by whoever sets
-- up the cluster: NOSUPERUSER NOBYPASSRLS, owning nothing.)
GRANT USAGE ON SCHEMA mastery_rls TO mastery_app;
GRANT SELECT, INSERT ON evidence TO mastery_app;
GRANT SELECT, INSERT, UPDATE ON state TO mastery_app;
