// Shared by the JS suites: reads fixtures/cases and applies the matching rule of fixtures/README.md.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "fixtures");

export function cases(dir = join(FIXTURES, "cases")) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? cases(path) : name.endsWith(".json") ? [path] : [];
    })
    .sort();
}

export const caseName = (path) => relative(join(FIXTURES, "cases"), path);

export function text(input) {
  return input.text !== undefined ? input.text : readFileSync(join(FIXTURES, input.file), "utf8");
}

export function matches(expected, actual, tol, path = "result") {
  if (expected === null) {
    if (actual !== null && actual !== undefined) throw new Error(`${path}: expected null, got ${JSON.stringify(actual)}`);
  } else if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      throw new Error(`${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`);
    expected.forEach((e, i) => matches(e, actual[i], tol, `${path}[${i}]`));
  } else if (typeof expected === "object") {
    if (actual === null || typeof actual !== "object") throw new Error(`${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) matches(v, actual[k], tol, `${path}.${k}`);
  } else if (typeof expected === "number") {
    if (typeof actual !== "number" || Math.abs(expected - actual) > tol)
      throw new Error(`${path}: expected ${expected}, got ${JSON.stringify(actual)}`);
  } else if (expected !== actual) {
    throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** `run(op, input)` gives the result; errors must carry `.code` and `.field`. */
export function check(path, run) {
  const c = JSON.parse(readFileSync(path, "utf8"));
  const tol = c.tolerance ?? 0;
  let result;
  try {
    result = run(c.op, c.input);
  } catch (e) {
    if (!c.error || !(e instanceof Error) || typeof e.code !== "string") throw e;
    matches(c.error, { code: e.code, field: e.field ?? null }, 0, "error");
    return;
  }
  if (c.error) throw new Error(`expected error ${JSON.stringify(c.error)}, got ${JSON.stringify(result)}`);
  matches(c.expected, result === undefined ? null : result, tol);
}
