// Every fixture case, through the WASM build (nodejs target).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { caseName, cases, check, text } from "./fixture_runner.mjs";

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
    default: throw new TypeError(`unknown op ${op}`);
  }
}

const all = cases();
test("there are fixtures", () => assert.ok(all.length >= 20));
for (const path of all) {
  test(caseName(path), () => check(path, run));
}
