#!/usr/bin/env bash
# Builds the two route-sized WASM packages a page loads (web target, wasm-opt'd) and checks their
# gzipped size against the budgets. Usage: mastery-wasm/scripts/build-routes.sh OUT_DIR WASM_OPT
#   OUT_DIR/achievements: credentials without JSON-LD (gallery, certificates, VC-JWT), <= 350 KB gz
#   OUT_DIR/dashboards:   dashboard view models and charts only,                  <= 450 KB gz
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
WASM_OPT=$2
WASM=target/wasm32-unknown-unknown/wasm/mastery_wasm.wasm
build() { # name features budget
  local name=$1 features=$2 budget=$3 dir=$OUT/$1
  cargo build -q -p mastery-wasm --target wasm32-unknown-unknown --profile wasm --no-default-features --features "$features"
  rm -rf "$dir" && mkdir -p "$dir"
  wasm-bindgen "$WASM" --target web --out-dir "$dir" --out-name mastery_wasm
  # `[Symbol.dispose]` needs lib esnext.disposable; `free()` does the same for every other lib.
  sed -i "/\[Symbol.dispose\]/d" "$dir/mastery_wasm.d.ts"
  local raw; raw=$(stat -c %s "$dir/mastery_wasm_bg.wasm")
  # wasm-bindgen's output uses bulk memory, reference types and sign extension.
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-reference-types --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals "$dir/mastery_wasm_bg.wasm" -o "$dir/mastery_wasm_bg.wasm"
  local size gz; size=$(stat -c %s "$dir/mastery_wasm_bg.wasm"); gz=$(gzip -9 -c "$dir/mastery_wasm_bg.wasm" | wc -c)
  echo "wasm $name: $raw bytes from wasm-bindgen, $size after wasm-opt -Oz, $gz gzipped (budget $budget)"
  [ "$gz" -le "$budget" ] || { echo "wasm $name: over its budget of $budget bytes gzipped" >&2; return 1; }
}
build achievements credentials,lean 358400
build dashboards dashboards 460800
