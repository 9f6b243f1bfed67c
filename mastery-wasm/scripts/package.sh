#!/usr/bin/env bash
# Builds the npm package's two targets (one wasm each): pkg/node (CommonJS, `require` or `import`,
# ready on load) and pkg/web (ES module: `await init()` first). `.d.ts` files lose
# `[Symbol.dispose]`, which needs lib esnext.disposable; `free()` does the same under any `lib`.
# Usage: mastery-wasm/scripts/package.sh [WASM_OPT]   (then `npm pack` in mastery-wasm)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -p mastery-wasm --target wasm32-unknown-unknown --profile wasm
WASM=target/wasm32-unknown-unknown/wasm/mastery_wasm.wasm
rm -rf mastery-wasm/pkg
# No name section: 726 KB of function names that only a debugger reads.
wasm-bindgen "$WASM" --remove-name-section --target nodejs --out-dir mastery-wasm/pkg/node
wasm-bindgen "$WASM" --remove-name-section --target web --out-dir mastery-wasm/pkg/web
echo '{"type": "module"}' > mastery-wasm/pkg/web/package.json
for t in node web; do
  sed -i "/\[Symbol.dispose\]/d" "mastery-wasm/pkg/$t/mastery_wasm.d.ts"
  if [ -n "${1:-}" ]; then
    "$1" -Oz --enable-bulk-memory --enable-reference-types --enable-sign-ext --enable-nontrapping-float-to-int \
      --enable-mutable-globals "mastery-wasm/pkg/$t/mastery_wasm_bg.wasm" -o "mastery-wasm/pkg/$t/mastery_wasm_bg.wasm"
  fi
done
