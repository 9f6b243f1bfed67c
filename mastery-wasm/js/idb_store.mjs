// A reference `MasteryAsyncStore` over the browser's IndexedDB, for `AsyncEngine`: a learner's
// mastery kept on the device across reloads. Like `MapStore` it has no access policy of its own
// (the engine checks the policy before every call); everything is scoped by tenant.
//
//   import { AsyncEngine } from "@mastery/wasm";
//   import { IdbStore } from "@mastery/wasm/js/idb_store.mjs";
//   const engine = new AsyncEngine(await IdbStore.open("mastery"), { streaks: {} });
//   await engine.ingest(principal, evidence);

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
// Key order, as the store contract promises: learner, course (none first), namespace, name.
const byKey = ([a], [b]) =>
  cmp(a.learner, b.learner)
  || (a.course == null ? (b.course == null ? 0 : -1) : b.course == null ? 1 : cmp(a.course, b.course))
  || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
const stateId = (tenant, k) => JSON.stringify([tenant, k.learner, k.course ?? null, k.namespace, k.name]);

/** A request's result as a promise. */
const done = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

/** A transaction's end as a promise. */
const finished = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  tx.onerror = () => reject(tx.error);
});

export class IdbStore {
  /** Opens (or creates) the database `name`. */
  static async open(name = "mastery") {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      // Evidence in append order (the auto-incremented key), unique per tenant × learner × id.
      const evidence = db.createObjectStore("evidence", { autoIncrement: true });
      evidence.createIndex("id", ["tenant", "learner", "id"], { unique: true });
      evidence.createIndex("learner", ["tenant", "learner"]);
      const state = db.createObjectStore("state", { keyPath: "id" });
      state.createIndex("learner", ["tenant", "learner", "namespace"]);
      // Rows outside any course have no `course` field, so this index leaves them out.
      state.createIndex("course", ["tenant", "course", "namespace"]);
    };
    return new IdbStore(await done(request));
  }

  constructor(db) {
    this.db = db;
  }

  close() {
    this.db.close();
  }

  /** All or nothing in one transaction: if any record is stored (or repeated), nothing is written. */
  async apply(ctx, evidence, states) {
    const tenant = ctx.principal.tenant;
    const tx = this.db.transaction(["evidence", "state"], "readwrite");
    const end = finished(tx);
    const ids = tx.objectStore("evidence").index("id");
    const seen = new Set();
    const stored = await Promise.all(evidence.map((e) => done(ids.count([tenant, e.learner, e.id]))));
    const flags = evidence.map((e, i) => {
      const key = JSON.stringify([e.learner, e.id]);
      const duplicate = seen.has(key) || stored[i] > 0;
      seen.add(key);
      return duplicate ? "duplicate" : "new";
    });
    if (!flags.includes("duplicate")) {
      for (const e of evidence) tx.objectStore("evidence").add({ tenant, learner: e.learner, id: e.id, body: e });
      for (const [key, value] of states) tx.objectStore("state").put(this.#row(tenant, key, value));
    }
    await end;
    return flags;
  }

  async get_states(ctx, keys) {
    const tenant = ctx.principal.tenant;
    const state = this.db.transaction("state").objectStore("state");
    const rows = await Promise.all(keys.map((k) => done(state.get(stateId(tenant, k)))));
    return rows.map((row) => row?.value ?? null);
  }

  async put_state(ctx, key, value) {
    const tx = this.db.transaction("state", "readwrite");
    tx.objectStore("state").put(this.#row(ctx.principal.tenant, key, value));
    await finished(tx);
  }

  async learner_evidence(ctx, learner) {
    const index = this.db.transaction("evidence").objectStore("evidence").index("learner");
    // Equal index keys come back in primary-key order: append order.
    return (await done(index.getAll([ctx.principal.tenant, learner]))).map((row) => row.body);
  }

  async learner_states(ctx, learner, namespace) {
    const index = this.db.transaction("state").objectStore("state").index("learner");
    return this.#pairs(await done(index.getAll([ctx.principal.tenant, learner, namespace])));
  }

  async course_states(ctx, course, namespace) {
    const index = this.db.transaction("state").objectStore("state").index("course");
    return this.#pairs(await done(index.getAll([ctx.principal.tenant, course, namespace])));
  }

  #row(tenant, key, value) {
    const row = { id: stateId(tenant, key), tenant, learner: key.learner, namespace: key.namespace, key, value };
    if (key.course != null) row.course = key.course;
    return row;
  }

  #pairs(rows) {
    return rows.map((row) => [row.key, row.value]).sort(byKey);
  }
}
