#!/usr/bin/env bash
# Installs the aarch64 wheel (from build-wheels.sh) into a Debian bookworm arm64 chroot run under
# qemu user emulation, runs aarch64-smoke.py there (numpy only: BKT fit + predict,
# mastery.Engine ingest and reads, an SVG heatmap) and compares its output byte for byte with
# the same script run natively with the x86-64 wheel. This is emulation, not aarch64 hardware.
#
# Needs root, Debian's qemu-user-static (its binfmt_misc entry for aarch64) and debootstrap.
# The chroot (minbase + python3 + numpy: about 530 MB) is made on first use, outside the repo:
#   CHROOT=/var/tmp/mastery-arm64-chroot (default)
# The chroot uses Debian's python3-numpy (the wheel is installed with --no-index); the x86-64
# reference venv gets numpy from PyPI.
# Usage: mastery-py/scripts/test-aarch64-wheel.sh   (after mastery-py/scripts/build-wheels.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(cd .. && pwd)
WHEELS=${OUT:-$ROOT/target/wheels}
CHROOT=${CHROOT:-/var/tmp/mastery-arm64-chroot}
SMOKE=$PWD/scripts/aarch64-smoke.py
X86_VENV=$ROOT/target/wheel-test-x86_64
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

arm_wheel=$(ls "$WHEELS"/mastery-*-manylinux2014_aarch64.*.whl)
x86_wheel=$(ls "$WHEELS"/mastery-*-manylinux2014_x86_64.*.whl)
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "no binfmt_misc entry for aarch64: apt-get install qemu-user-static" >&2; exit 1; }

if [ ! -x "$CHROOT/usr/bin/python3" ]; then
  echo "==> debootstrap arm64 bookworm into $CHROOT"
  mkdir -p "$CHROOT"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,python3-numpy \
    bookworm "$CHROOT" http://deb.debian.org/debian
fi

echo "==> x86-64 reference: $(basename "$x86_wheel")"
rm -rf "$X86_VENV"
python3 -m venv "$X86_VENV"
"$X86_VENV/bin/pip" install --quiet "$x86_wheel"
(cd /tmp && "$X86_VENV/bin/python" "$SMOKE") > "$WHEELS/smoke-x86_64.json"

echo "==> aarch64 under qemu: $(basename "$arm_wheel")"
work=$CHROOT/tmp/mastery-smoke
rm -rf "$work" "$CHROOT/opt/mastery-venv"
mkdir -p "$work"
cp "$arm_wheel" "$SMOKE" "$work/"
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
mountpoint -q "$CHROOT/proc" || { mount -t proc proc "$CHROOT/proc"; trap 'umount "$CHROOT/proc"' EXIT; }
in_chroot() { chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/sh -euc "$1"; }
in_chroot 'python3 -c "import numpy" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-numpy >/dev/null; }' >&2
in_chroot '
  echo "uname -m: $(uname -m), $(python3 --version), $(ldd --version | head -1)" >&2
  python3 -m venv --system-site-packages /opt/mastery-venv
  /opt/mastery-venv/bin/pip install --quiet --no-index /tmp/mastery-smoke/*.whl
  cd /tmp && /opt/mastery-venv/bin/python /tmp/mastery-smoke/aarch64-smoke.py
' > "$WHEELS/smoke-aarch64.json"

if cmp -s "$WHEELS/smoke-x86_64.json" "$WHEELS/smoke-aarch64.json"; then
  echo "ok: aarch64 output equals x86-64 output ($(wc -c < "$WHEELS/smoke-aarch64.json") bytes of JSON)"
else
  diff "$WHEELS/smoke-x86_64.json" "$WHEELS/smoke-aarch64.json" | head -40
  echo "FAILED: aarch64 and x86-64 answers differ" >&2
  exit 1
fi
