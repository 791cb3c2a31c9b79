#!/bin/sh
# Fetches QEMU 10.0 from bookworm-backports and unpacks it into DIR (default
# _qemu10 at the top of the source tree), next to the system's QEMU 7.2,
# which stays installed and untouched.  Run as root (or with sudo available)
# on Debian 12.  Does nothing when DIR already holds it.
#
# DIR/root is the packages' contents (dpkg-deb -x), and DIR/bin holds
# wrappers named like the real programs (qemu-system-x86_64,
# qemu-storage-daemon, qemu-ga, qemu-img) that run the unpacked binaries
# with their own data, firmware and module directories.  Put DIR/bin first
# in PATH, or run `meson test --setup=qemu10`, to test against 10.0.
set -eu

series="1:10.0."
# qemu-storage-daemon is in qemu-utils since 8.x (qemu-system-common in 7.2).
packages="qemu-system-x86 qemu-system-common qemu-system-data qemu-guest-agent qemu-utils seabios"

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/_qemu10}
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# The binaries load no library that Debian 12 lacks, except when the
# machine has never had a QEMU installed: then install their dependencies
# (all of them are in bookworm itself).
missing_libraries () {
  for b in "$dir"/root/usr/bin/qemu-system-x86_64 "$dir"/root/usr/bin/qemu-storage-daemon \
           "$dir"/root/usr/sbin/qemu-ga; do
    ldd "$b" | grep 'not found' || true
  done
}

# The wrappers.  -L puts 10.0's data and backports' SeaBIOS ahead of the
# system's directories, which a QEMU binary built for /usr searches too;
# QEMU_MODULE_DIR keeps 10.0 from loading 7.2's modules.
root="$dir/root"
write_wrapper () {
  name=$1
  shift
  {
    echo '#!/bin/sh'
    echo "# QEMU $version, unpacked by build-aux/fetch-qemu10.sh"
    echo "QEMU_MODULE_DIR='$root/usr/lib/x86_64-linux-gnu/qemu'"
    echo 'export QEMU_MODULE_DIR'
    echo "exec $* \"\$@\""
  } >"$dir/bin/$name"
  chmod +x "$dir/bin/$name"
}
write_wrappers () {
  write_wrapper qemu-system-x86_64 "'$root/usr/bin/qemu-system-x86_64'" \
    -L "'$root/usr/share/qemu'" -L "'$root/usr/share/seabios'"
  write_wrapper qemu-storage-daemon "'$root/usr/bin/qemu-storage-daemon'"
  write_wrapper qemu-img "'$root/usr/bin/qemu-img'"
  write_wrapper qemu-ga "'$root/usr/sbin/qemu-ga'"
}

# Already there: the wrappers are written again, for a tree that was
# moved or copied from another build (they name its absolute path).
if [ -f "$dir/VERSION" ] && [ -z "$(missing_libraries)" ]; then
  version=$(cat "$dir/VERSION")
  write_wrappers
  echo "QEMU $version is already in $dir"
  exit 0
fi

# A bookworm-backports source on the same mirror as the system's bookworm
# one, unless one is configured already.
if ! grep -qs -E '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      /etc/apt/sources.list.d/*.sources; then
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
    echo "fetch-qemu10: no Debian bookworm apt source found to take the mirror from" >&2
    exit 1
  fi
  echo "Adding a bookworm-backports apt source on $mirror"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
    "$mirror" /usr/share/keyrings/debian-archive-keyring.gpg \
    | $sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
fi

tmp=$(mktemp -d)
mkdir "$tmp/no-parts"
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user must be able to write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chown _apt "$tmp"
fi

# Refresh only the backports lists: quick, and the other lists stay as
# they are.  Backports' priority is 100, so nothing installed is upgraded.
backports_source=$(grep -ls -E '^[^#]*bookworm-backports' /etc/apt/sources.list \
                     /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources | head -n 1)
$sudo apt-get update -q -o Dir::Etc::SourceList="$backports_source" \
  -o Dir::Etc::SourceParts="$tmp/no-parts" -o APT::Get::List-Cleanup=0

# The newest 10.0.x of each package (seabios: backports' newest, which
# QEMU 10.0 asks for).
version=""
specs=""
for p in $packages; do
  v=$(apt-cache madison "$p" | awk -F'|' '$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2 }' \
        | sort -V | { if [ "$p" = seabios ]; then cat; else grep -F "$series"; fi; } | tail -n 1 || true)
  if [ -z "$v" ]; then
    echo "fetch-qemu10: bookworm-backports has no $p ${series}x" >&2
    exit 1
  fi
  [ "$p" = qemu-system-x86 ] && version=$v
  specs="$specs $p=$v"
done
echo "Downloading$specs"
(cd "$tmp" && apt-get download -q $specs)

rm -rf "$dir"
mkdir -p "$dir/root" "$dir/bin"
for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$dir/root"
done

if [ -n "$(missing_libraries)" ]; then
  deps=$(for deb in "$tmp"/*.deb; do dpkg-deb -f "$deb" Depends; echo; done \
         | tr ',' '\n' | sed -E 's/^ +//; s/ +$//' \
         | grep -v -E '^(qemu-|seabios|ipxe-qemu|\$|$)' | sort -u | paste -sd, -)
  echo "Installing the libraries QEMU 10.0 needs: $deps"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get satisfy -y -q --no-install-recommends "$deps"
  if [ -n "$(missing_libraries)" ]; then
    echo "fetch-qemu10: still missing:" >&2
    missing_libraries >&2
    exit 1
  fi
fi

write_wrappers
echo "$version" >"$dir/VERSION"
echo "QEMU $version is in $dir"
"$dir/bin/qemu-system-x86_64" --version | head -n 1
