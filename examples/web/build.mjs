// Builds the web example into dist/: the route-sized WASM packages (cargo features, wasm-bindgen,
// wasm-opt -Oz, gzipped budgets checked), type-checks the TypeScript and bundles it with esbuild.
// Usage: node build.mjs [--skip-wasm]
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const wasmDir = join(here, "wasm");
if (!process.argv.includes("--skip-wasm") || !existsSync(join(wasmDir, "dashboards"))) {
  execFileSync(join(root, "mastery-wasm/scripts/build-routes.sh"), [wasmDir, join(here, "node_modules/.bin/wasm-opt")], {
    stdio: "inherit",
  });
}
execFileSync(join(here, "node_modules/.bin/tsc"), ["-p", here], { stdio: "inherit" });
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "wasm"), { recursive: true });
for (const route of ["achievements", "dashboards"]) {
  cpSync(join(wasmDir, route, "mastery_wasm_bg.wasm"), join(dist, "wasm", `${route}.wasm`));
}
cpSync(join(here, "public"), dist, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: join(dist, "assets"),
  loader: { ".json": "json" },
  logLevel: "warning",
});
console.log("built examples/web/dist");
