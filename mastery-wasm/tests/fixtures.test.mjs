// Every fixture case, through the WASM build (nodejs target).
import { createHash } from "node:crypto";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, caseName, cases, check, text } from "./fixture_runner.mjs";
import { MapStore } from "../js/map_store.mjs";

const m = createRequire(import.meta.url)("../pkg/node/mastery_wasm.js");

function run(op, input) {
  switch (op) {
    case "case_summary":
    case "case_import":
      return m.Framework.fromCaseJson(text(input)).summary();
    case "case_roundtrip":
      return m.Framework.fromCaseJson(m.Framework.fromCaseJson(text(input)).toCaseJson()).summary();
    case "case_query": {
      const f = m.Framework.fromCaseJson(text(input));
      return input.queries.map((q) => {
        switch (q.query) {
          case "find_by_code": return f.findByCode(q.code);
          case "topological_order": return f.topologicalOrder();
          default: return f[q.query](q.id);
        }
      });
    }
    case "xapi_ingest": return m.ingestXapi(text(input), input.mapping);
    case "caliper_ingest": return m.ingestCaliper(text(input), input.mapping);
    case "caliper_validate": return m.validateCaliper(text(input));
    case "pybkt_csv_ingest": return m.ingestPybktCsv(text(input));
    case "calculate": return m.calculate(input.method, input.evidence, input.mastery_points, input.order ?? null);
    case "rating_for": return m.ratingFor(scale(input.scale), input.score);
    case "bkt_predict": return m.BktModel.fromJson(JSON.stringify(input.model)).predict(input.rows);
    case "bkt_update": {
      const model = m.BktModel.fromJson(JSON.stringify(input.model));
      let state = null;
      return input.observations.map((o) => (state = model.update(input.skill, state, o.correct, o.template ?? null)));
    }
    case "bkt_load": return JSON.parse(m.BktModel.fromJson(text(input)).toJson()).model.skills;
    case "bkt_crossvalidate": return m.BktModel.crossvalidate(input.rows, input.options ?? null, input.folds);
    case "frontier": return m.frontier(m.Framework.fromCaseJson(text(input)), input.standings);
    case "roll_up":
      return m.rollUp(m.Framework.fromCaseJson(text(input)), input.standings, input.rules ?? null, input.default ?? null);
    case "class_summary": return m.classSummary(input.scores, scale(input.scale), input.competencies ?? null);
    case "streak": return m.evaluateStreak(input.activities, input.now, input.current_zone, input.policy);
    case "streak_tracker": {
      const report = m.evaluateStreak(input.activities, input.now, input.current_zone, input.policy);
      const today = new Intl.DateTimeFormat("en-CA", { timeZone: input.current_zone }).format(new Date(input.now));
      return m.streakTracker(report, today, input.weeks);
    }
    case "ring_chart":
      return m.ringChart(m.Framework.fromCaseJson(text(input)), input.standings, scale(input.scale), input.areas ?? null, input.metric);
    case "class_heatmap": return m.classHeatmap(input.values, input.competencies, scale(input.scale));
    case "progress_over_time":
      return m.progressOverTime(input.states, scale(input.scale), input.labels, input.window, input.method, false);
    case "achievement_credential":
      return m.achievementCredential(input.credential_id, input.achievement, input.issuer, input.learner_identifier, input.salt,
        input.issued_at, input.evidence_urls, input.status);
    case "vc_sign": return m.signVcJwt(JSON.stringify(input.credential), Buffer.from(input.seed_hex, "hex"));
    case "vc_verify": return m.verifyVcJwt(input.jwt, input.now, input.expected_issuer ?? null, input.revoked_indexes);
    case "verify_credential":
      return m.verifyCredential(input.credential ? JSON.stringify(input.credential) : text(input), input.options);
    case "di_sign":
      return m.signDataIntegrity(JSON.stringify(input.credential), Buffer.from(input.seed_hex, "hex"), input.created, input.verification_method ?? null);
    case "canonicalize": return m.canonicalize(JSON.stringify(input.document));
    case "certificate": {
      const args = [JSON.stringify(input.credential), input.learner_name, input.verification_url, input.template];
      const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
      return { svg_sha256: sha(m.certificateSvg(...args)), pdf_sha256: sha(m.certificatePdf(...args)) };
    }
    case "risk_predict": {
      const model = m.RiskModel.fromJson(readFileSync(join(FIXTURES, input.model), "utf8"));
      return Array.from(model.predictProba(Float64Array.from(input.rows.flat().map((v) => v ?? NaN))));
    }
    case "risk_explain": {
      const model = m.RiskModel.fromJson(readFileSync(join(FIXTURES, input.model), "utf8"));
      return model.explain(Float64Array.from(input.row.map((v) => v ?? NaN)), input.top);
    }
    case "risk_explain_many": {
      const model = m.RiskModel.fromJson(readFileSync(join(FIXTURES, input.model), "utf8"));
      return model.explainMany(Float64Array.from(input.rows.flat().map((v) => v ?? NaN)), input.top);
    }
    case "risk_band": return m.riskBand(input.score, input.previous ?? null, input.bands ?? null) ?? null;
    case "fairness_report":
      return m.fairnessReport(Float64Array.from(input.scores), Float64Array.from(input.labels), input.groups, input.threshold);
    case "unbake_png": return m.unbakePng(readFileSync(join(FIXTURES, input.file)));
    case "render_ring_chart": return m.renderSvg("ring_chart", input.chart);
    case "scenario": {
      // On the embedded store and on a store written in JS, which must agree (fixtures/README.md).
      const engine = input.engine ?? {};
      const options = { ...engine, riskModel: engine.risk_model ? JSON.stringify(engine.risk_model) : null };
      delete options.risk_model;
      const embedded = scenario(new m.Engine(null, options), input.steps);
      assert.deepEqual(scenario(new m.Engine(new MapStore(), options), input.steps), embedded,
        "the JS store and the embedded store disagree");
      return embedded;
    }
    default: throw new TypeError(`unknown op ${op}`);
  }
}

function scenario(engine, steps) {
  const step = (s) => {
    switch (s.do) {
      case "ingest": return engine.ingest(s.as, s.evidence);
      case "learner_states": return engine.learnerStates(s.as, s.learner, s.course ?? null);
      case "class_states": return engine.classStates(s.as, s.course);
      case "class_heatmap": return engine.classHeatmap(s.as, s.course, s.competencies);
      case "mastery": return engine.mastery(s.as, s.learner, s.competency, s.course ?? null);
      case "streak": return engine.streak(s.as, s.learner, s.now, s.course ?? null);
      case "class_streaks": return engine.classStreaks(s.as, s.course, s.now);
      case "streak_report": return engine.streakReport(s.as, s.learner, s.now, s.course ?? null);
      case "awards": return engine.awards(s.as, s.learner, s.course ?? null);
      case "outbox": return engine.outbox(s.as, s.course);
      case "acknowledge_awards": return engine.acknowledgeAwards(s.as, s.learner, s.credential_ids, s.course ?? null);
      case "revoke_award": return engine.revokeAward(s.as, s.learner, s.achievement, s.reason, s.course ?? null);
      case "badge_gallery": return engine.badgeGallery(s.as, s.learner, s.now, s.course ?? null);
      case "learner_dashboard": return engine.learnerDashboard(s.as, s.learner, s.at, s.course ?? null);
      case "class_dashboard": return engine.classDashboard(s.as, s.course, s.at, s.options ?? null);
      case "at_risk": return engine.atRisk(s.as, s.course, s.at, s.top ?? 3);
      case "record_risk": return engine.recordRisk(s.as, s.course, s.at, s.top ?? 3);
      case "risk_features": return engine.riskFeatures(s.as, s.course, s.at);
      default: throw new TypeError(`unknown scenario step ${s.do}`);
    }
  };
  try {
    return steps.map((s) => {
      try {
        return { ok: step(s) };
      } catch (e) {
        if (!(e instanceof Error) || typeof e.code !== "string") throw e;
        return { error: { code: e.code, field: e.field ?? null } };
      }
    });
  } finally {
    engine.free();
  }
}

const scale = (s) => (typeof s === "string" ? m.proficiencyScale(s) : s);

const all = cases();
test("there are fixtures", () => assert.ok(all.length >= 20));
for (const path of all) {
  test(caseName(path), () => check(path, run));
}
