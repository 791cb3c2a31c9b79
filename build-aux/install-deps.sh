#!/bin/sh
# Installs, with apt-get, what a fresh Debian 12 machine lacks to build
# qmp-glib and run all of its tests against real QEMU peers.  Run as root
# (or with sudo available).  Installs nothing when nothing is missing.
set -eu

packages="
  gcc
  pkg-config
  meson
  ninja-build
  gettext
  libglib2.0-dev
  libglib2.0-dev-bin
  libjson-glib-dev
  qemu-system-x86
  qemu-utils
  qemu-guest-agent
  valgrind
  gobject-introspection
  libgirepository1.0-dev
  valac
  gjs
  gi-docgen
  python3-gi
  python3-pexpect
  gir1.2-gtk-4.0
  xvfb
  xauth
  x11-apps
  libreadline-dev
  cpio
  busybox-static
  glib-networking
  gnutls-bin
  libgnutls28-dev
"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing:$missing"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi
