-- Durable credentials, the outbox the event stream drains, and the mastery and prediction logs.
-- Every table carries tenant, learner and course like `evidence`, with FORCE ROW LEVEL SECURITY,
-- the restrictive tenant wall and permissive policies through may_read / may_write (0001).

-- One award per tenant × learner × achievement × version: the key makes it once, whoever writes.
CREATE TABLE award (
    tenant        text COLLATE "C" NOT NULL,
    learner       text COLLATE "C" NOT NULL,
    course        text COLLATE "C",
    achievement   text COLLATE "C" NOT NULL,
    version       integer NOT NULL,
    credential_id text COLLATE "C" NOT NULL,
    awarded_at    timestamptz NOT NULL,
    -- The credential's bit in the issuer's status lists.
    status_index  bigint GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START 0),
    revoked       text,
    CONSTRAINT award_key PRIMARY KEY (tenant, learner, achievement, version),
    CONSTRAINT award_credential UNIQUE (tenant, credential_id)
);

-- Revoked status bits: published by the status lists, so readable by anyone (no learner here).
CREATE TABLE revocation (
    tenant       text COLLATE "C" NOT NULL,
    status_index bigint NOT NULL,
    revoked_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revocation_key PRIMARY KEY (tenant, status_index)
);

-- Notifications for a learner's event stream, written in the transaction that caused them and
-- taken once: the stream selects undelivered rows FOR UPDATE SKIP LOCKED and marks them
-- delivered in the same transaction.
CREATE TABLE outbox (
    tenant       text COLLATE "C" NOT NULL,
    learner      text COLLATE "C" NOT NULL,
    course       text COLLATE "C",
    id           bigint GENERATED ALWAYS AS IDENTITY,
    kind         text NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    CONSTRAINT outbox_key PRIMARY KEY (tenant, id)
);
CREATE INDEX outbox_pending ON outbox (tenant, learner, id) WHERE delivered_at IS NULL;

-- Every stored mastery state an ingest wrote, with the version of the rules that computed it.
CREATE TABLE mastery_log (
    tenant         text COLLATE "C" NOT NULL,
    learner        text COLLATE "C" NOT NULL,
    course         text COLLATE "C",
    competency     text COLLATE "C" NOT NULL,
    score          double precision,
    p_known        double precision,
    mastered       boolean NOT NULL,
    evidence_count integer NOT NULL,
    model_version  text NOT NULL,
    logged_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mastery_log_by_learner ON mastery_log (tenant, learner, logged_at);

-- Every risk prediction served, with the model version.
CREATE TABLE prediction_log (
    tenant        text COLLATE "C" NOT NULL,
    learner       text COLLATE "C" NOT NULL,
    course        text COLLATE "C",
    model_version text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    features      jsonb NOT NULL,
    score         double precision NOT NULL,
    band          text,
    reasons       jsonb NOT NULL
);
CREATE INDEX prediction_log_by_course ON prediction_log (tenant, course, at);

ALTER TABLE award ENABLE ROW LEVEL SECURITY;
ALTER TABLE award FORCE ROW LEVEL SECURITY;
ALTER TABLE revocation ENABLE ROW LEVEL SECURITY;
ALTER TABLE revocation FORCE ROW LEVEL SECURITY;
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
ALTER TABLE mastery_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE mastery_log FORCE ROW LEVEL SECURITY;
ALTER TABLE prediction_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE prediction_log FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_wall ON award AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());
CREATE POLICY tenant_wall ON outbox AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());
CREATE POLICY tenant_wall ON mastery_log AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());
CREATE POLICY tenant_wall ON prediction_log AS RESTRICTIVE USING (tenant = mastery_rls.tenant())
    WITH CHECK (tenant = mastery_rls.tenant());

-- Awards, outbox rows and log rows are written by whoever may write the learner's evidence in
-- that course (the ingest that caused them) and read by whoever may read it.
CREATE POLICY reader ON award FOR SELECT USING (mastery_rls.may_read(learner, course));
CREATE POLICY writer ON award FOR INSERT WITH CHECK (mastery_rls.may_write(learner, course));
-- Only a tenant's admins revoke.
CREATE POLICY revoker ON award FOR UPDATE USING (mastery_rls.has_role('admin'))
    WITH CHECK (mastery_rls.has_role('admin'));

CREATE POLICY reader ON outbox FOR SELECT USING (mastery_rls.may_read(learner, course));
CREATE POLICY writer ON outbox FOR INSERT WITH CHECK (mastery_rls.may_write(learner, course));
-- Draining marks rows delivered: the learner's own stream, or the tenant's admins and services.
CREATE POLICY drainer ON outbox FOR UPDATE
    USING (mastery_rls.has_role('admin') OR mastery_rls.has_role('service')
           OR (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()))
    WITH CHECK (mastery_rls.has_role('admin') OR mastery_rls.has_role('service')
                OR (mastery_rls.has_role('learner') AND learner = mastery_rls.uid()));

CREATE POLICY reader ON mastery_log FOR SELECT USING (mastery_rls.may_read(learner, course));
CREATE POLICY writer ON mastery_log FOR INSERT WITH CHECK (mastery_rls.may_write(learner, course));
CREATE POLICY reader ON prediction_log FOR SELECT USING (mastery_rls.may_read(learner, course));
-- Predictions are written by the course's readers who asked for them (instructors, admins, services).
CREATE POLICY writer ON prediction_log FOR INSERT WITH CHECK (mastery_rls.may_read(learner, course));

-- Revoked bits are public (the status list publishes them); only admins add them, in their tenant.
CREATE POLICY public_bits ON revocation FOR SELECT USING (true);
CREATE POLICY revoker ON revocation FOR INSERT
    WITH CHECK (tenant = mastery_rls.tenant() AND mastery_rls.has_role('admin'));

GRANT SELECT, INSERT, UPDATE (revoked) ON award TO mastery_app;
GRANT SELECT, INSERT ON revocation TO mastery_app;
GRANT SELECT, INSERT, UPDATE (delivered_at) ON outbox TO mastery_app;
GRANT SELECT, INSERT ON mastery_log, prediction_log TO mastery_app;
