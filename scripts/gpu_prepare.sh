#!/usr/bin/env bash
# Run HERE (Debian 12, with its package archive reachable) before a session with a GPU machine: collects into
# .gpu-deps/ (git-ignored) what scripts/gpu_check.sh needs there and cannot fetch (the GPU machine has no network and
# no apt, and is probably not Debian): the Debian bookworm packages of our non-torch build dependencies (headers,
# pkg-config files, CMake configs, shared libraries, GoogleTest, flatc, pkgconf), unpacked with dpkg -x into
# .gpu-deps/root. LibTorch is not carried (the GPU machine's PyTorch wheel has it), nor are the Python packages its
# image lists (transformers, tokenizers, safetensors, pyarrow).
# Usage: scripts/gpu_prepare.sh            (idempotent; prints the size, which must stay well under 64 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."

dest=.gpu-deps
debs="$dest/debs"
root="$dest/root"

# What cmake/TcppDependencies.cmake and the module CMakeLists find (find_package / pkg_check_modules / find_program),
# with the runtime libraries the -dev packages' .so links point to. libgloo-dev is left out on purpose: the wheel's
# LibTorch has its own gloo built in, and Debian's headers would not match it.
PACKAGES=(
  nlohmann-json3-dev
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libutf8proc-dev libutf8proc2
  libxxhash-dev libxxhash0
  libzstd-dev libzstd1
  libsnappy-dev libsnappy1v5
  zlib1g-dev zlib1g
  libbrotli-dev libbrotli1
  liblz4-dev liblz4-1
  libbz2-dev libbz2-1.0
  liblzma-dev liblzma5
  libyaml-dev libyaml-0-2
  libflatbuffers-dev libflatbuffers2 flatbuffers-compiler
  libgtest-dev libgmock-dev
  pkgconf pkgconf-bin libpkgconf3
)

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "gpu_prepare: needs apt-get and dpkg (run it on the Debian development machine, not on the GPU machine)" >&2
  exit 1
fi

mkdir -p "$debs"
rm -rf "$root"
mkdir -p "$root"
missing=()
for p in "${PACKAGES[@]}"; do
  ls "$debs/${p}"_*.deb >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get download ${missing[*]}"
  # apt-get download writes into the current directory; _apt cannot write there, hence the sandbox warning.
  if ! (cd "$debs" && apt-get download "${missing[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed"); then
    echo "gpu_prepare: apt-get download failed; run 'apt-get update' first" >&2
    exit 1
  fi
fi
for p in "${PACKAGES[@]}"; do
  ls "$debs/${p}"_*.deb >/dev/null 2>&1 || { echo "gpu_prepare: $p was not downloaded" >&2; exit 1; }
done

echo "== dpkg -x into $root"
for f in "$debs"/*.deb; do dpkg -x "$f" "$root"; done
# Documentation and man pages are not needed there.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian"
# Absolute links (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) would point into the GPU machine's own /lib:
# make them relative, inside root.
while IFS= read -r link; do
  target=$(readlink "$link")
  case "$target" in /*) ln -sfr "$root$target" "$link" ;; esac
done < <(find "$root" -type l)

# A record of what was collected, for the check's log.
{
  echo "collected $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  for f in "$debs"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$f"; done
} > "$root/MANIFEST"

size_kib=$(du -sk "$root" | cut -f1)
echo "== .gpu-deps/root: $((size_kib / 1024)) MiB ($(find "$root" -type f | wc -l) files); the .deb files stay in $debs (not carried)"
if [ "$size_kib" -gt $((48 * 1024)) ]; then
  echo "gpu_prepare: $root is over 48 MiB; the device tool carries at most 64 MiB with the working tree" >&2
  exit 1
fi
echo "carry '.gpu-deps/root' (and only that) in the device tool's run call; see README, 'Checking on a GPU machine'."
