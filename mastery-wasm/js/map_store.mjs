// A reference `MasteryStore` in plain JS: what a host writes over its own database, here over
// Maps and arrays. It has no access policy of its own (the engine checks the policy before every
// call; a database would add row-level security behind it). Everything is scoped by tenant.
//
//   import { MapStore } from "@mastery/wasm/js/map_store.mjs";
//   const engine = new Engine(new MapStore());

// The learners a batch writes: those of its records and of its state keys.
const touched = (evidence, states) => new Set([...evidence.map((e) => e.learner), ...states.map(([key]) => key.learner)]);
const evidenceKey = (tenant, e) => JSON.stringify([tenant, e.learner, e.id]);
const stateKey = (tenant, k) => JSON.stringify([tenant, k.learner, k.course ?? null, k.namespace, k.name]);

// Key order, as the Rust trait promises: learner, course (none first), namespace, name.
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = ([a], [b]) =>
  cmp(a.learner, b.learner) || (a.course === undefined ? (b.course === undefined ? 0 : -1) : b.course === undefined ? 1 : cmp(a.course, b.course))
  || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);

// Thrown by `apply_since` when another writer changed a learner of the batch after `since`: the
// engine reads the batch's state again and recomputes.
export class StoreConflict extends Error {
  constructor() {
    super("another writer changed a learner of this batch");
    this.name = "StoreConflict";
    this.code = "store_conflict";
  }
}

export class MapStore {
  constructor() {
    this.evidence = []; // [tenant, evidence] in append order
    this.known = new Set(); // evidenceKey
    this.states = new Map(); // stateKey → [tenant, key, value]
    this.version = 0; // one more per write
    this.written = new Map(); // JSON [tenant, learner] → the version that last wrote it
  }

  // Optional, with `apply_since`: versioned writes, so that engines in several processes over
  // one database (Node workers, serverless instances) cannot lose each other's updates. Over
  // SQL: a row per learner holding its last writer's version, locked in the write transaction.
  read_version(ctx) {
    return this.version;
  }

  // `apply`, unless another writer wrote a learner of the batch after `since` (a `read_version`):
  // then it writes nothing and throws `{code: "store_conflict"}`. Duplicates are reported first.
  apply_since(ctx, since, evidence, states) {
    const tenant = ctx.principal.tenant;
    if (!this.#flags(tenant, evidence).includes("duplicate")) { // else `apply` reports them
      for (const learner of touched(evidence, states)) {
        if ((this.written.get(JSON.stringify([tenant, learner])) ?? 0) > since) throw new StoreConflict();
      }
    }
    return this.apply(ctx, evidence, states);
  }

  // "new" or "duplicate" per record (stored, or repeated in the batch).
  #flags(tenant, evidence) {
    const seen = new Set();
    return evidence.map((e) => {
      const k = evidenceKey(tenant, e);
      const duplicate = seen.has(k) || this.known.has(k);
      seen.add(k);
      return duplicate ? "duplicate" : "new";
    });
  }

  apply(ctx, evidence, states) {
    const tenant = ctx.principal.tenant;
    const flags = this.#flags(tenant, evidence);
    if (flags.includes("duplicate")) return flags; // all or nothing
    for (const e of evidence) {
      this.evidence.push([tenant, e]);
      this.known.add(evidenceKey(tenant, e));
    }
    for (const [key, value] of states) this.states.set(stateKey(tenant, key), [tenant, key, value]);
    this.#wrote(tenant, touched(evidence, states));
    return flags;
  }

  #wrote(tenant, learners) {
    this.version += 1;
    for (const learner of learners) this.written.set(JSON.stringify([tenant, learner]), this.version);
  }

  known_evidence(ctx, evidence) {
    return evidence.map((e) => this.known.has(evidenceKey(ctx.principal.tenant, e)));
  }

  append_evidence(ctx, evidence) {
    return this.apply(ctx, [evidence], [])[0];
  }

  learner_evidence(ctx, learner) {
    const tenant = ctx.principal.tenant;
    return this.evidence.filter(([t, e]) => t === tenant && e.learner === learner).map(([, e]) => e);
  }

  course_evidence(ctx, course) {
    const tenant = ctx.principal.tenant;
    return this.evidence.filter(([t, e]) => t === tenant && e.course === course).map(([, e]) => e);
  }

  get_state(ctx, key) {
    const entry = this.states.get(stateKey(ctx.principal.tenant, key));
    return entry ? entry[2] : null;
  }

  // Optional: the engine reads every state an ingest batch touches with one call when a store has it.
  get_states(ctx, keys) {
    return keys.map((key) => this.get_state(ctx, key));
  }

  put_state(ctx, key, value) {
    this.states.set(stateKey(ctx.principal.tenant, key), [ctx.principal.tenant, key, value]);
    this.#wrote(ctx.principal.tenant, [key.learner]);
  }

  learner_states(ctx, learner, namespace) {
    return this.#select(ctx, (k) => k.learner === learner && k.namespace === namespace);
  }

  course_states(ctx, course, namespace) {
    return this.#select(ctx, (k) => k.course === course && k.namespace === namespace);
  }

  #select(ctx, wanted) {
    const tenant = ctx.principal.tenant;
    const out = [];
    for (const [t, key, value] of this.states.values()) if (t === tenant && wanted(key)) out.push([key, value]);
    return out.sort(byKey);
  }
}
