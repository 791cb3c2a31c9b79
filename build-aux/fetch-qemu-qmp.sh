#!/bin/sh
# Fetches qemu.qmp, QEMU's own Python QMP client (pure Python, no
# dependencies), from the source package of QEMU in Debian (the suite
# SUITE, default bookworm-backports) and unpacks only its python/qemu/qmp
# into DIR (default _qemu-qmp at the top of the source tree), as
# DIR/qemu/qmp.  bench/qmp-bench.py compares qmp-glib with it:
#
#   build-aux/fetch-qemu-qmp.sh
#   QMP_BENCH_QEMU_QMP=_qemu-qmp /usr/bin/python3 bench/qmp-bench.py --client qemu.qmp ...
#
# (or PYTHONPATH=_qemu-qmp).  Run as root (or with sudo available) on
# Debian 12.  Does nothing when DIR already holds it.  The source package
# is verified by apt (the signed Sources index and the .dsc's hashes); the
# tarball is only downloaded, never built, and removed afterwards.
#
#   build-aux/fetch-qemu-qmp.sh [DIR [SUITE]]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/_qemu-qmp}
suite=${2:-bookworm-backports}
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac

if [ -f "$dir/VERSION" ] && [ -f "$dir/qemu/qmp/__init__.py" ]; then
  echo "qemu.qmp of QEMU $(cat "$dir/VERSION") is already in $dir"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# A deb-src source for SUITE on the same mirror as the system's bookworm
# one, unless one is configured already.
has_deb_src () {
  # one-line format, then deb822 stanzas with Types: deb-src and the suite
  grep -qs -E "^[[:space:]]*deb-src[[:space:]].*[[:space:]]$suite([[:space:]]|\$)" \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list && return 0
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$suite" 'BEGIN { RS = ""; found = 1 }
    /(^|\n)Types:[^\n]*deb-src/ && $0 ~ ("(^|\n)Suites:([^\n]*[ \t])?" suite "([ \t]|\n|$)") { found = 0 }
    END { exit found }'
}

src_list=/etc/apt/sources.list.d/$suite-src.sources
if ! has_deb_src; then
  # deb822: the URIs of the stanza whose Suites has bookworm itself.
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'BEGIN { RS = "" }
    /(^|\n)Suites:([^\n]*[ \t])?bookworm([ \t]|\n|$)/ {
      if (match ($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
        s = substr ($0, RSTART, RLENGTH); sub (/^\n?URIs:[ \t]*/, "", s); print s; exit
      }
    }')
  if [ -z "$mirror" ]; then
    mirror=$(grep -hs -E '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+[[:space:]]+bookworm[[:space:]]' \
               /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             | sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{ print $1; exit }')
  fi
  if [ -z "$mirror" ]; then
    echo "fetch-qemu-qmp: no Debian bookworm apt source found to take the mirror from" >&2
    exit 1
  fi
  echo "Adding a deb-src apt source for $suite on $mirror"
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$mirror" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg \
    | $sudo tee "$src_list" >/dev/null
else
  src_list=$(grep -ls -E "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
               /etc/apt/sources.list.d/*.sources | xargs -r grep -ls -E "[[:space:]]$suite([[:space:]]|\$)" \
             | head -n 1)
fi

tmp=$(mktemp -d)
mkdir "$tmp/no-parts"
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user must be able to write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chown _apt "$tmp"
fi

# Refresh only that source's lists: quick, and the other lists stay as
# they are.
$sudo apt-get update -q -o Dir::Etc::SourceList="$src_list" \
  -o Dir::Etc::SourceParts="$tmp/no-parts" -o APT::Get::List-Cleanup=0

# Only the upstream tarball, checked against the hash of the signed
# Sources index (apt-helper refuses a mismatch): dpkg-source would unpack
# all of QEMU, and one directory of the upstream tarball is enough
# (Debian's patches do not touch python/qemu/qmp).  `apt-get source
# --download-only` would also need the .dsc and Debian's patches, which
# the mirror does not always still hold for the version its index names.
uris=$(cd "$tmp" && apt-get source -q --print-uris "qemu/$suite" 2>/dev/null)
line=$(printf '%s\n' "$uris" | grep -E "^'[^']*/qemu_[^']*\.orig\.tar\.[a-z0-9]+' " | head -n 1)
if [ -z "$line" ]; then
  echo "fetch-qemu-qmp: apt-get source --print-uris qemu/$suite names no qemu_*.orig.tar.*" >&2
  exit 1
fi
uri=$(printf '%s\n' "$line" | awk '{ gsub(/\047/, "", $1); print $1 }')
orig=$tmp/$(printf '%s\n' "$line" | awk '{ print $2 }')
hash=$(printf '%s\n' "$line" | awk '{ print $4 }')
version=$(printf '%s\n' "$uris" | sed -n "s/.* qemu_\\(.*\\)\\.dsc .*/\\1/p" | head -n 1)
echo "Downloading $(basename "$orig") ($hash)"
/usr/lib/apt/apt-helper -q download-file "$uri" "$orig" "$hash"

mkdir "$tmp/x"
# The tarball's top directory is qemu-VERSION/: keep qemu/qmp/…
tar -x -f "$orig" -C "$tmp/x" --wildcards --no-anchored --strip-components=2 '*/python/qemu/qmp/*'
if [ ! -f "$tmp/x/qemu/qmp/__init__.py" ]; then
  echo "fetch-qemu-qmp: $(basename "$orig") has no python/qemu/qmp" >&2
  exit 1
fi

rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp/x/qemu" "$dir/qemu"
# qemu is a namespace package upstream (no qemu/__init__.py): keep it so.
echo "$version" >"$dir/VERSION"
echo "qemu.qmp of QEMU $version is in $dir"
