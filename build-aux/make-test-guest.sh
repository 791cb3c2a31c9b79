#!/bin/sh
# make-test-guest.sh OUTDIR
#
# Builds the small Linux guest of the test suite into OUTDIR (vmlinuz,
# initrd.img) from Debian packages alone: Debian 12's kernel, fetched with
# `apt-get download` and unpacked (not installed), and an initramfs with
# busybox-static, the virtio/ACPI modules the tests need and the host's
# qemu-ga.  Does nothing when OUTDIR already holds a guest built from the
# same kernel package, qemu-ga and script.  Safe to run from several test
# programs at once (flock).
#
# The guest's /init understands these kernel command-line options:
#   qmptest.ignore_powerbutton=1  never react to the ACPI power button
#   qmptest.panic=1               panic (sysrq c) right after "ready"
#   qmptest.reboot=1              `reboot -f` right after "ready"
# The power button watchers' pids are in /run/qmptest-powerbutton.pids
# (kill them to ignore the button from then on).
# and prints "QMPTEST-READY" on the console once qemu-ga runs.
#
# Needs: apt-get, dpkg-deb, cpio, gzip, busybox-static, qemu-guest-agent.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

busybox=/bin/busybox
qga=/usr/sbin/qemu-ga
for f in "$busybox" "$qga"; do
  [ -x "$f" ] || { echo "$0: $f is missing (install busybox-static, qemu-guest-agent)" >&2; exit 1; }
done
for t in cpio gzip dpkg-deb apt-get apt-cache ldd flock; do
  command -v "$t" >/dev/null || { echo "$0: $t is missing" >&2; exit 1; }
done

exec 9>"$out/.lock"
flock 9

# The kernel package: what linux-image-amd64 depends on today (one
# apt-cache call: each one costs seconds on a loaded machine).
resolve_kernel () {
  apt-cache show --no-all-versions linux-image-amd64 2>/dev/null \
    | sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^)]*\)).*/\1 \2/p' \
    | head -n 1
}
update_lists () {
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
}
set_kernel () {
  [ -n "$kernel" ] || { echo "$0: cannot resolve linux-image-amd64's kernel package" >&2; exit 1; }
  kpkg=${kernel% *}
  kver_pkg=${kernel#* }
  stamp="$kpkg $kver_pkg $(cksum < "$script") $(cksum < "$qga") $(cksum < "$busybox")"
}
kernel=$(resolve_kernel)
if [ -z "$kernel" ]; then
  # Only when the package lists are missing (a fresh container).
  update_lists
  kernel=$(resolve_kernel)
fi
set_kernel
if [ -f "$out/stamp" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] \
   && [ "$(cat "$out/stamp")" = "$stamp" ]; then
  exit 0
fi

work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "make-test-guest: building the test guest from $kpkg $kver_pkg" >&2
if ! (cd "$work" && apt-get download -q "$kpkg=$kver_pkg" >&2); then
  # Lists older than the mirror name a package it no longer has.
  update_lists
  kernel=$(resolve_kernel)
  set_kernel
  (cd "$work" && apt-get download -q "$kpkg=$kver_pkg" >&2)
fi
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/k"
kver=$(ls "$work/k/lib/modules" | head -n 1)
moddir=$work/k/lib/modules/$kver

root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
         "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" \
         "$root/mnt" "$root/modules" "$root/etc"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# Modules, in dependency order.  The package carries no modules.dep (depmod
# runs at install), so read each module's own "depends=" from .modinfo.
modpath () {
  find "$moddir" \( -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" \) | head -n 1
}
: > "$root/modules/order"
add_module () {
  name=$(echo "$1" | tr - _)
  grep -qx "$name" "$root/modules/order" && return 0
  path=$(modpath "$name")
  if [ -z "$path" ]; then
    # built into the kernel, or absent: nothing to load
    grep -q "/$name.ko\$\|/$(echo "$name" | tr _ -).ko\$" "$moddir/modules.builtin" 2>/dev/null \
      || echo "make-test-guest: note: no module $name" >&2
    return 0
  fi
  deps=$(tr '\0' '\n' < "$path" | sed -n 's/^depends=//p' | head -n 1 | tr , ' ')
  for d in $deps; do
    add_module "$d"
  done
  name=$(echo "$1" | tr - _)
  grep -qx "$name" "$root/modules/order" && return 0
  cp "$(modpath "$name")" "$root/modules/$name.ko"
  echo "$name" >> "$root/modules/order"
}
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
         virtio_pci virtio_console virtio_blk virtio_net button evdev \
         pvpanic pvpanic_mmio pvpanic_pci; do
  add_module "$m"
done

# qemu-ga and the libraries it links with (paths kept as ldd gives them).
cp "$qga" "$root/usr/sbin/qemu-ga"
ldd "$qga" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' \
  | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done

cat > "$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run/qga /dev/pts

opt () {
  for w in $(cat /proc/cmdline); do
    [ "$w" = "qmptest.$1=1" ] && return 0
  done
  return 1
}

for m in $(cat /modules/order); do
  insmod /modules/$m.ko || echo "qmptest: insmod $m failed"
done

# The power button: acpid's action did not run, so read the first key event
# of every input device called "Power Button" and power off.
if ! opt ignore_powerbutton; then
  for n in /sys/class/input/event*/device/name; do
    [ "$(cat "$n" 2>/dev/null)" = "Power Button" ] || continue
    ev=$(basename "$(dirname "$(dirname "$n")")")
    (dd if=/dev/input/$ev of=/dev/null bs=24 count=1 2>/dev/null \
       && echo "qmptest: power button" && poweroff -f) &
    echo $! >> /run/qmptest-powerbutton.pids
  done
fi

# The guest agent on its virtio port (the port appears shortly after the
# module is loaded).
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  for n in /sys/class/virtio-ports/*/name; do
    if [ "$(cat "$n" 2>/dev/null)" = "org.qemu.guest_agent.0" ]; then
      port=/dev/$(basename "$(dirname "$n")")
    fi
  done
  [ -n "$port" ] || { sleep 0.1; i=$((i + 1)); }
done
if [ -n "$port" ]; then
  while [ ! -e "$port" ]; do sleep 0.1; done
  qemu-ga -m virtio-serial -p "$port" -t /run/qga &
fi

echo "QMPTEST-READY"

if opt panic; then
  echo 1 > /proc/sys/kernel/sysrq
  echo c > /proc/sysrq-trigger
fi
if opt reboot; then
  reboot -f
fi

while :; do
  sleep 3600
done
EOF
chmod +x "$root/init"

# qemu-ga's guest-shutdown runs "/sbin/shutdown -P|-H|-r +0 MESSAGE";
# busybox has no shutdown applet.
cat > "$root/sbin/shutdown" <<'EOF'
#!/bin/sh
case "$1" in
  -r) exec reboot -f ;;
  -H) exec halt -f ;;
  *) exec poweroff -f ;;
esac
EOF
chmod +x "$root/sbin/shutdown"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) > "$work/initrd.img"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/initrd.img" "$out/initrd.img"
echo "$stamp" > "$out/stamp"
echo "make-test-guest: $out/vmlinuz $out/initrd.img ($kver)" >&2
