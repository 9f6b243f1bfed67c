-- Conditional writes across service instances (`Store::read_version` / `apply_since`).
--
-- Every transaction that writes a learner's evidence or state in a course records itself here
-- (its transaction id). An engine reads at a snapshot and writes only if every learner × course
-- it touches was last written by a transaction visible in that snapshot; otherwise its write is
-- refused and it reads again. So two instances computing over the same learner cannot overwrite
-- each other's mastery, streaks or award records.

CREATE TABLE learner_version (
    tenant  text COLLATE "C" NOT NULL,
    learner text COLLATE "C" NOT NULL,
    course  text COLLATE "C",
    -- The last transaction that wrote this learner's rows in this course.
    writer  xid8 NOT NULL,
    CONSTRAINT learner_version_key UNIQUE NULLS NOT DISTINCT (tenant, learner, course)
);

ALTER TABLE learner_version ENABLE ROW LEVEL SECURITY;
ALTER TABLE learner_version FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON learner_version AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());
-- Whoever may write a learner's rows in a course may record that it did (and lock the row).
CREATE POLICY writer ON learner_version FOR ALL
    USING (mastery_rls.may_write(learner, course)) WITH CHECK (mastery_rls.may_write(learner, course));

GRANT SELECT, INSERT, UPDATE (writer) ON learner_version TO mastery_app;
