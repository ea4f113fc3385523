#!/usr/bin/env bash
# Builds the four Lambda zips once (scripts/package-lambdas.sh; cargo keeps the build in
# $CARGO_TARGET_DIR, so 42-deploy-moto.sh and later runs only re-zip) and checks each zip
# independently of the script: exactly one entry, an executable `bootstrap`, an ELF for the
# architecture, highest required GLIBC <= 2.34 (Amazon Linux 2023).
#
# Architecture: arm64 (the templates' default) when the aarch64 Rust standard library is
# installed or rustup can add it; otherwise x86_64, saying so, after checking that the
# script refuses --arm64 with a clear message. EWORK_LAMBDA_ARCH=arm64|x86_64 forces one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
dist="$CARGO_TARGET_DIR/lambda-dist"

arch="${EWORK_LAMBDA_ARCH:-}"
if [ -z "$arch" ]; then
  if rustup target list --installed | grep -x aarch64-unknown-linux-gnu >/dev/null \
      || timeout 180 rustup target add aarch64-unknown-linux-gnu; then
    arch=arm64
  else
    echo "NOTE: the aarch64-unknown-linux-gnu standard library cannot be installed here;"
    echo "NOTE: checking that --arm64 fails clearly, then verifying x86_64 zips instead."
    if out="$(scripts/package-lambdas.sh --arm64 2>&1)"; then
      echo "package-lambdas.sh --arm64 succeeded although the target is missing" >&2; exit 1
    fi
    grep -q "cannot add Rust target aarch64-unknown-linux-gnu" <<<"$out" \
      || { echo "unclear failure message from package-lambdas.sh --arm64:" >&2; echo "$out" >&2; exit 1; }
    arch=x86_64
  fi
fi
case "$arch" in
  arm64) flag=--arm64; machine=AArch64 ;;
  x86_64) flag=--x86-64; machine=X86-64 ;;
  *) echo "EWORK_LAMBDA_ARCH must be arm64 or x86_64" >&2; exit 1 ;;
esac

start=$SECONDS
manifest="$(scripts/package-lambdas.sh "$flag" --out "$dist/$arch")"
echo "built $arch zips in $((SECONDS - start)) s: $manifest"
# 42-deploy-moto.sh deploys what this check verified.
echo "$arch" >"$dist/checked-architecture"

python - "$manifest" "$arch" <<'EOF'
import json, re, stat, subprocess, sys, tempfile, zipfile
from pathlib import Path

manifest = json.loads(Path(sys.argv[1]).read_text())
arch = sys.argv[2]
assert manifest["architecture"] == arch, manifest["architecture"]
functions = manifest["functions"]
assert sorted(functions) == ["get-test", "list-tests", "scorer", "upload-answers"], sorted(functions)
machine = {"arm64": "AArch64", "x86_64": "Advanced Micro Devices X86-64"}[arch]
for name, entry in functions.items():
    assert re.fullmatch(rf"lambda/{arch}/{re.escape(name)}-[0-9a-f]{{16}}\.zip", entry["key"]), entry["key"]
    with zipfile.ZipFile(entry["zip"]) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["bootstrap"], (name, [i.filename for i in infos])
        mode = infos[0].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, (name, oct(mode))
        with tempfile.TemporaryDirectory() as tmp:
            binary = z.extract(infos[0], tmp)
            header = subprocess.run(["readelf", "-h", binary], check=True, capture_output=True, text=True).stdout
            assert machine in header, (name, header)
            needs = subprocess.run(["readelf", "-V", "--wide", binary], check=True, capture_output=True, text=True).stdout
            versions = sorted({tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)", needs)})
            assert versions, f"{name}: no GLIBC version needs"
            assert versions[-1] <= (2, 34), f"{name}: needs GLIBC_{'.'.join(map(str, versions[-1]))}"
    print(f"{name}: one executable bootstrap ({arch}), highest GLIBC needed {'.'.join(map(str, versions[-1]))}, key {entry['key']}")
EOF
