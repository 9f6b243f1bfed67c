#!/usr/bin/env bash
# Builds the release wheels of `mastery` for Linux x86-64 and aarch64 (abi3, CPython 3.9+,
# manylinux2014) with maturin and zig, then checks each wheel:
#   - its file name and WHEEL tags: cp39-abi3-manylinux2014_<arch> / manylinux_2_17_<arch>;
#   - the extension module is an ELF shared object for that architecture, and the newest glibc
#     symbol version it needs (`objdump -T`) is at most GLIBC_2.17;
#   - METADATA has the README as a markdown long description, the licence (Apache-2.0),
#     project URLs and classifiers, and the LICENSE file is inside the wheel.
# Not part of .ci/test-all (two release builds take 20+ minutes on two cores).
#
# Usage: mastery-py/scripts/build-wheels.sh [TARGET...]
#   TARGET defaults to: x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
#   Wheels go to target/wheels/ (override with OUT=dir). maturin and zig come from PyPI into a
#   venv at target/wheel-venv (override with VENV=dir); the Rust targets need
#   `rustup target add aarch64-unknown-linux-gnu` (done here when rustup is present).
set -euo pipefail
cd "$(dirname "$0")/.."
PY_DIR=$PWD
ROOT=$(cd .. && pwd)
OUT=${OUT:-$ROOT/target/wheels}
VENV=${VENV:-$ROOT/target/wheel-venv}
MATURIN_VERSION=1.16.0
ZIG_VERSION=0.17.1
export CARGO_INCREMENTAL=0
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

if ! { [ -x "$VENV/bin/maturin" ] && "$VENV/bin/python" -c "import ziglang" 2>/dev/null; }; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "maturin==$MATURIN_VERSION" "ziglang==$ZIG_VERSION"
fi
export PATH=$VENV/bin:$PATH
echo "maturin $(maturin --version | cut -d' ' -f2), zig $(python -m ziglang version)"
mkdir -p "$OUT"

FAILED=0
for target in "${TARGETS[@]}"; do
  arch=${target%%-*}
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
  fi
  echo; echo "==> $target"
  rm -f "$OUT"/mastery-*-"$arch".whl "$OUT"/mastery-*_"$arch".whl
  start=$(date +%s)
  maturin build --release --zig --compatibility manylinux2014 --target "$target" --out "$OUT"
  echo "built in $(( $(date +%s) - start )) s"
  wheel=$(ls "$OUT"/mastery-*"$arch".whl)

  # objdump for the wheel's architecture (binutils' cross objdump, llvm-objdump, or plain
  # objdump, whose generic ELF reader also lists the dynamic symbols of another architecture).
  objdump=objdump
  for candidate in "$arch-linux-gnu-objdump" llvm-objdump; do
    if command -v "$candidate" >/dev/null; then objdump=$candidate; break; fi
  done
  OBJDUMP=$objdump python3 - "$wheel" "$arch" "$PY_DIR/README.md" <<'EOF' || FAILED=1
import email.parser, os, re, subprocess, sys, tempfile, zipfile

wheel, arch, readme = sys.argv[1:]
errors = []
def check(ok, what):
    if not ok:
        errors.append(what)

name = os.path.basename(wheel)
check(re.fullmatch(rf"mastery-[^-]+-cp39-abi3-manylinux2014_{arch}\.manylinux_2_17_{arch}\.whl", name),
      f"file name {name}")
z = zipfile.ZipFile(wheel)
names = z.namelist()
dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
wheel_file = z.read(f"{dist_info}/WHEEL").decode()
tags = sorted(l.split(": ", 1)[1] for l in wheel_file.splitlines() if l.startswith("Tag: "))
check(tags == sorted([f"cp39-abi3-manylinux2014_{arch}", f"cp39-abi3-manylinux_2_17_{arch}"]), f"WHEEL tags {tags}")
check("Root-Is-Purelib: false" in wheel_file, "Root-Is-Purelib")

# The extension module: ELF, this architecture, glibc symbol versions <= 2.17.
sos = [n for n in names if n.endswith(".so")]
check(sos == ["mastery/_mastery.abi3.so"], f"extension modules {sos}")
machine = {"x86_64": 62, "aarch64": 183}[arch]
with tempfile.TemporaryDirectory() as tmp:
    so = z.extract(sos[0], tmp)
    head = open(so, "rb").read(20)
    check(head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == machine, "ELF machine")
    dyn = subprocess.run([os.environ["OBJDUMP"], "-T", so], check=True, capture_output=True, text=True).stdout
versions = sorted({tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_([0-9.]+)", dyn)})
newest = ".".join(map(str, versions[-1])) if versions else "none"
check(versions and versions[-1] <= (2, 17), f"newest glibc symbol GLIBC_{newest}")
so_size = z.getinfo(sos[0]).file_size

# Metadata: README as the long description, licence, URLs, classifiers; LICENSE inside.
meta_text = z.read(f"{dist_info}/METADATA").decode()
meta = email.parser.Parser().parsestr(meta_text)
check((meta["Description-Content-Type"] or "").startswith("text/markdown"), "Description-Content-Type")
readme_text = open(readme, encoding="utf-8").read()
body = meta.get_payload()
check(readme_text.strip().splitlines()[0] in body and len(body) >= 0.9 * len(readme_text), "README as description")
check(meta["License-Expression"] == "Apache-2.0" or meta["License"] == "Apache-2.0", "License")
urls = meta.get_all("Project-URL") or []
check(len(urls) >= 2 and any(u.startswith(("Homepage", "Repository")) for u in urls), f"Project-URL {urls}")
classifiers = meta.get_all("Classifier") or []
check({"Operating System :: POSIX :: Linux", "Programming Language :: Python :: 3 :: Only",
       "Programming Language :: Rust", "Typing :: Typed"} <= set(classifiers), f"classifiers {classifiers}")
check(meta["Requires-Python"] == ">=3.9", "Requires-Python")
licence_files = meta.get_all("License-File") or []
check(licence_files == ["LICENSE"], f"License-File {licence_files}")
check(f"{dist_info}/licenses/LICENSE" in names, "LICENSE in the wheel")
check("mastery/py.typed" in names and "mastery/__init__.pyi" in names, "stubs and py.typed")

print(f"{name}: {os.path.getsize(wheel):,} B (extension {so_size:,} B uncompressed), "
      f"tags {', '.join(tags)}, newest glibc symbol GLIBC_{newest}, "
      f"{len(classifiers)} classifiers, {len(urls)} project URLs, licence {meta['License-Expression']}")
if errors:
    print("  FAILED: " + "; ".join(errors))
    sys.exit(1)
print("  ok: tags, ELF machine, glibc <= 2.17, README, licence, URLs, classifiers, LICENSE")
EOF
done
exit $FAILED
