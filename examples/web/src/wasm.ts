/** Each route loads only its own WASM build: achievements (credentials) or dashboards (charts). */
import type * as Achievements from "../wasm/achievements/mastery_wasm.js";
import type * as Dashboards from "../wasm/dashboards/mastery_wasm.js";

let dash: Promise<typeof Dashboards> | undefined;
let cred: Promise<typeof Achievements> | undefined;

export function dashboards(): Promise<typeof Dashboards> {
  dash ??= import("../wasm/dashboards/mastery_wasm.js").then(async (m) => {
    await m.default({ module_or_path: "/wasm/dashboards.wasm" });
    return m;
  });
  return dash;
}

export function achievements(): Promise<typeof Achievements> {
  cred ??= import("../wasm/achievements/mastery_wasm.js").then(async (m) => {
    await m.default({ module_or_path: "/wasm/achievements.wasm" });
    return m;
  });
  return cred;
}
