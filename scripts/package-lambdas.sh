#!/usr/bin/env bash
# Builds the Lambda zips (one per function, each holding one executable `bootstrap`) with
# cargo-lambda and zig, for glibc 2.34 (Amazon Linux 2023 ships 2.34), checks them, and
# writes a manifest the deploy playbook reads.
#
# Usage: scripts/package-lambdas.sh [--arm64 | --x86-64] [--out DIR] [FUNCTION...]
#   --arm64     build for Graviton (default; the templates' default Architecture)
#   --x86-64    build for x86_64 (pass Architecture=x86_64 to the stacks, see group_vars)
#   --out DIR   where the zips and manifest.json go
#               (default: $CARGO_TARGET_DIR/lambda-dist/<arch>, CARGO_TARGET_DIR defaults to ./target)
#   FUNCTION    any of list-tests get-test upload-answers scorer (default: all four)
#
# Output: DIR/<function>.zip and DIR/manifest.json:
#   {"architecture": "arm64", "functions": {"list-tests": {"zip": "...", "sha256": "<zip>",
#    "key": "lambda/arm64/list-tests-<sha256 prefix of bootstrap>.zip"}, ...}}
# The key carries the checksum so CloudFormation updates a function exactly when its code
# changed. cargo reuses $CARGO_TARGET_DIR, so a second run only re-zips.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

all_functions=(list-tests get-test upload-answers scorer)
# Amazon Linux 2023 (provided.al2023) has glibc 2.34; zig links against exactly this.
glibc=2.34

die() { echo "package-lambdas: $*" >&2; exit 1; }

arch=arm64
out=""
functions=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arm64) arch=arm64 ;;
    --x86-64|--x86_64) arch=x86_64 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      case " ${all_functions[*]} " in
        *" $1 "*) functions+=("$1") ;;
        *) die "unknown function $1 (known: ${all_functions[*]})" ;;
      esac ;;
  esac
  shift
done
[ ${#functions[@]} -gt 0 ] || functions=("${all_functions[@]}")

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$arch" in
  arm64) triple=aarch64-unknown-linux-gnu; elf_machine=AArch64 ;;
  x86_64) triple=x86_64-unknown-linux-gnu; elf_machine="X86-64" ;;
esac
out="${out:-$CARGO_TARGET_DIR/lambda-dist/$arch}"

# cargo-lambda (and the zig it runs) come from PyPI; prefer the project's venv.
if ! command -v cargo-lambda >/dev/null 2>&1; then
  if [ -x "$root/.venv/bin/cargo-lambda" ]; then
    export PATH="$root/.venv/bin:$PATH"
  else
    die "cargo-lambda not found: run scripts/setup-venv.sh (pip install cargo-lambda) or put it on PATH"
  fi
fi
command -v readelf >/dev/null 2>&1 || die "readelf not found (install binutils); it checks the glibc versions"
command -v unzip >/dev/null 2>&1 || die "unzip not found"

# The Rust standard library for the target must be installed; rustup fetches it from
# static.rust-lang.org, which is not reachable everywhere.
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -x "$triple" >/dev/null; then
    echo "package-lambdas: installing the Rust standard library for $triple" >&2
    if ! timeout 180 rustup target add "$triple" >&2; then
      other=$([ "$arch" = arm64 ] && echo "--x86-64" || echo "--arm64")
      die "cannot add Rust target $triple (rustup target add failed: no network to the Rust dist server?).
  Build for the other architecture with: scripts/package-lambdas.sh $other
  and deploy with lambda_architecture matching it (playbooks/group_vars/all.yml)."
    fi
  fi
elif ! rustc --print target-libdir --target "$triple" >/dev/null 2>&1 \
    || [ ! -d "$(rustc --print target-libdir --target "$triple")" ]; then
  die "the Rust standard library for $triple is missing and rustup is not available to add it"
fi

package_args=()
for f in "${functions[@]}"; do package_args+=(-p "$f"); done

echo "package-lambdas: building ${functions[*]} for $arch (glibc $glibc) into $CARGO_TARGET_DIR" >&2
# --disable-optimizations: ship the workspace's own [profile.release] (strip, thin LTO)
# instead of cargo-lambda's overrides. --lambda-dir per architecture so an arm64 and an
# x86_64 build never overwrite each other's zips.
cargo lambda build --release --disable-optimizations \
  --target "$triple.$glibc" \
  --output-format zip \
  --lambda-dir "$CARGO_TARGET_DIR/lambda/$arch" \
  "${package_args[@]}" >&2

mkdir -p "$out"
out="$(cd "$out" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Highest GLIBC_x.y a binary needs, from its version-needs section (works for any ELF
# machine, unlike objdump which needs a multiarch build for AArch64).
max_glibc() {
  readelf -V --wide "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)*' | sed 's/GLIBC_//' | sort -V | tail -n1
}

entries=()
for f in "${functions[@]}"; do
  built="$CARGO_TARGET_DIR/lambda/$arch/$f/bootstrap.zip"
  [ -f "$built" ] || die "cargo lambda did not produce $built"

  # Exactly one entry, named bootstrap, executable, for the right machine and glibc.
  listing="$(unzip -Z1 "$built")"
  [ "$listing" = "bootstrap" ] || die "$f: zip must hold exactly one file named bootstrap, has: $(echo "$listing" | tr '\n' ' ')"
  rm -rf "${tmp:?}/$f" && mkdir -p "$tmp/$f"
  unzip -q "$built" -d "$tmp/$f"
  perms="$(unzip -Z "$built" bootstrap | awk '{print $1}')"
  case "$perms" in -rwx*) ;; *) die "$f: bootstrap in the zip is not executable ($perms)" ;; esac
  machine="$(readelf -h "$tmp/$f/bootstrap" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')"
  case "$machine" in
    *"$elf_machine"*) ;;
    *) die "$f: bootstrap is for '$machine', expected $elf_machine" ;;
  esac
  need="$(max_glibc "$tmp/$f/bootstrap")"
  [ -n "$need" ] || die "$f: no GLIBC version needs found in bootstrap (not dynamically linked against glibc?)"
  if [ "$(printf '%s\n%s\n' "$need" "$glibc" | sort -V | tail -n1)" != "$glibc" ]; then
    die "$f: bootstrap needs GLIBC_$need, newer than the $glibc of provided.al2023"
  fi

  cp "$built" "$out/$f.zip"
  sum="$(sha256sum "$out/$f.zip" | cut -d' ' -f1)"
  # Keyed by the executable's hash, not the zip's: re-zipping the same binary (new
  # timestamps) must not look like new code to CloudFormation.
  code_sum="$(sha256sum "$tmp/$f/bootstrap" | cut -d' ' -f1)"
  key="lambda/$arch/$f-${code_sum:0:16}.zip"
  echo "package-lambdas: $f: $(du -h "$out/$f.zip" | cut -f1) zip, bootstrap for $machine, highest GLIBC needed $need (limit $glibc), key $key" >&2
  entries+=("\"$f\": {\"zip\": \"$out/$f.zip\", \"sha256\": \"$sum\", \"key\": \"$key\"}")
done

manifest="$out/manifest.json"
{
  printf '{\n  "architecture": "%s",\n  "glibc": "%s",\n  "functions": {\n' "$arch" "$glibc"
  for i in "${!entries[@]}"; do
    sep=$([ "$i" -lt $((${#entries[@]} - 1)) ] && echo "," || echo "")
    printf '    %s%s\n' "${entries[$i]}" "$sep"
  done
  printf '  }\n}\n'
} >"$manifest"
echo "$manifest"
