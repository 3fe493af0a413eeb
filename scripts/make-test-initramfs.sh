#!/usr/bin/env bash
# Builds the real-guest tests' initramfs: a gzip'd newc cpio holding Debian's static busybox, the virtio
# modules of an installed kernel, and an /init that runs the checks named on the kernel command line.
#
#   scripts/make-test-initramfs.sh OUTPUT [KVER]
#
# KVER defaults to the kernel /vmlinuz points at (not `uname -r`: the host may run a different kernel from
# the one the guests boot). Nothing is cached outside OUTPUT; a scratch directory is removed on exit.
#
# /init reads these kernel command-line parameters (all optional):
#   lguest.check=a,b,c        checks to run, in order (see below)
#   lguest.blk.dev=vda        the block device the blk-* checks use
#   lguest.blk.mib=4          blk-sum: MiB hashed from the start of the device
#   lguest.blk.marker=TEXT    blk-marker: the text written (no spaces; default lguest-marker)
#   lguest.blk.marker-offset=1048576   blk-marker: byte offset, a multiple of 512
#   lguest.blk.direct-offset-mib=8     blk-direct: where the pattern goes
#   lguest.blk.direct-mib=32           blk-direct: how much pattern
#   lguest.dd.mib=64          dd-read, dd-write: MiB moved (from the start of the device)
#   lguest.dd.bs=1M           dd-read, dd-write: dd's block size (the size of each request the guest sends)
#   lguest.dd.passes=1        dd-read, dd-write: how often dd goes over those MiB (all passes are timed together)
#   lguest.rng.bytes=64       rng: bytes read from /dev/hwrng
#   lguest.records.writers=32 lguest.records.seconds=60   blk-records: parallel O_DIRECT writers, and for how long
#   lguest.net.if=eth0  lguest.ip=10.78.0.2/24  lguest.ping=10.78.0.1   net-ping
#   lguest.reboot=once        reboot -f after the first boot's checks, power off after the second's. The boot
#                             count lives in a flag sector on the block device (lguest.reboot.sector, default
#                             the last sector); the second boot zeroes it again.
# and prints one line per check on the console:
#   LGUEST-BOOT <n>
#   LGUEST-CHECK blk-size <bytes>
#   LGUEST-CHECK blk-sum <sha256 of the first lguest.blk.mib MiB>
#   LGUEST-CHECK blk-marker ok|fail           (written with O_DIRECT + fsync, read back with O_DIRECT)
#   LGUEST-CHECK blk-direct ok|fail <sha256>  (the pattern written with O_DIRECT, read back with O_DIRECT)
#   LGUEST-CHECK dd-read <MiB/s> <MiB> <seconds>    (dd iflag=direct of the device to /dev/null; MiB is
#                                            lguest.dd.mib times lguest.dd.passes)
#   LGUEST-CHECK dd-write <MiB/s> <MiB> <seconds>   (dd of /dev/zero to the device, oflag=direct conv=fsync;
#                                            overwrites the first lguest.dd.mib MiB; "fail" if dd fails)
#                                            Timed with the guest's /proc/uptime (10 ms steps) around dd.
#   LGUEST-CHECK blk-records ok|fail <acked chunks> <write errors> <read-back mismatches>
#                                            (writer W writes 64 KiB chunks, chunk C at 64 KiB unit W*256+C, each
#                                            acknowledged chunk's sha256 kept and checked by an O_DIRECT read at the end;
#                                            "LGUEST-RECORDS started" is printed when the writers start)
#   LGUEST-CHECK rng <rng_current> <bytes read>
#   LGUEST-CHECK net-ping ok|fail <replies>/<sent>
#   LGUEST-CHECK <name> unknown               (a check /init does not know)
#   LGUEST-DONE
# then powers off (or reboots once). The blk-direct pattern is `yes lguest-direct-pattern-0123456789`
# (33-byte lines, so no two MiB of it are alike), which a host can regenerate to check the file.
set -euo pipefail

usage() { echo "usage: $0 OUTPUT [KVER]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
output=$1

default_kver() {
  local target
  target=$(readlink -f /vmlinuz 2>/dev/null || true)
  case "$target" in
    */vmlinuz-*) echo "${target##*/vmlinuz-}"; return ;;
  esac
  # No /vmlinuz link: the newest /boot/vmlinuz-* whose modules are installed.
  local k
  for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -rV); do
    [ -d "/lib/modules/$k" ] && { echo "$k"; return; }
  done
  echo "make-test-initramfs: no /vmlinuz and no /boot/vmlinuz-* with modules; pass KVER" >&2
  exit 1
}
kver=${2:-$(default_kver)}

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  [ -x "$b" ] && { busybox=$b; break; }
done
[ -n "$busybox" ] || { echo "make-test-initramfs: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would need its libraries in the initramfs; only the static one will do.
# Dynamic means an ELF PT_INTERP (3) program header.
has_interp() {
  local phoff phentsize phnum i
  phoff=$(od -An -tu8 -j32 -N8 "$1" | tr -d ' ')
  phentsize=$(od -An -tu2 -j54 -N2 "$1" | tr -d ' ')
  phnum=$(od -An -tu2 -j56 -N2 "$1" | tr -d ' ')
  for ((i = 0; i < phnum; i++)); do
    [ "$(od -An -tu4 -j$((phoff + i * phentsize)) -N4 "$1" | tr -d ' ')" = 3 ] && return 0
  done
  return 1
}
if has_interp "$busybox"; then
  echo "make-test-initramfs: $busybox is dynamically linked (apt-get install busybox-static)" >&2
  exit 1
fi
[ -d "/lib/modules/$kver" ] || { echo "make-test-initramfs: /lib/modules/$kver does not exist" >&2; exit 1; }
command -v modprobe >/dev/null || { echo "make-test-initramfs: modprobe not found (apt-get install kmod)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lguest-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

# The modules and their load order: each top-level module's `modprobe --show-depends` lists its dependencies
# first; the union keeps the first occurrence. "builtin" lines (e.g. rng-core, which is =y here) need nothing.
top_modules=(virtio_pci virtio_blk virtio_net virtio_rng virtio_console)
: >"$root/etc/modules"
declare -A seen=()
for m in "${top_modules[@]}"; do
  deps=$(modprobe -S "$kver" --show-depends "$m") || {
    echo "make-test-initramfs: modprobe -S $kver --show-depends $m failed" >&2
    exit 1
  }
  while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    [ -z "${seen[$path]:-}" ] || continue
    seen[$path]=1
    base=${path##*/}
    case "$base" in
      *.ko) cp "$path" "$root/lib/modules/$base" ;;
      *.ko.xz) name=${base%.xz}; xz -dc "$path" >"$root/lib/modules/$name"; base=$name ;;
      *.ko.zst) name=${base%.zst}; zstd -qdc "$path" >"$root/lib/modules/$name"; base=$name ;;
      *.ko.gz) name=${base%.gz}; gzip -dc "$path" >"$root/lib/modules/$name"; base=$name ;;
      *) echo "make-test-initramfs: unexpected module file $path" >&2; exit 1 ;;
    esac
    echo "${base%.ko}" >>"$root/etc/modules"
  done <<<"$deps"
done

cat >"$root/init" <<'INIT'
#!/bin/sh
# The real-guest tests' init: see scripts/make-test-initramfs.sh for the parameters and the output lines.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

for m in $(cat /etc/modules); do
  insmod "/lib/modules/$m.ko" || echo "LGUEST-CHECK insmod-$m fail"
done

# Defaults, then the lguest.* words of the kernel command line.
checks=""
blk_dev=vda
blk_mib=4
blk_marker=lguest-marker
blk_marker_offset=1048576
blk_direct_offset_mib=8
blk_direct_mib=32
rng_bytes=64
records_writers=32
records_seconds=60
dd_mib=64
dd_bs=1M
dd_passes=1
net_if=eth0
net_ip=10.78.0.2/24
net_peer=10.78.0.1
reboot_mode=""
reboot_sector=""
for word in $(cat /proc/cmdline); do
  value=${word#*=}
  case "$word" in
    lguest.check=*) checks=$(echo "$value" | tr ',' ' ') ;;
    lguest.blk.dev=*) blk_dev=$value ;;
    lguest.blk.mib=*) blk_mib=$value ;;
    lguest.blk.marker=*) blk_marker=$value ;;
    lguest.blk.marker-offset=*) blk_marker_offset=$value ;;
    lguest.blk.direct-offset-mib=*) blk_direct_offset_mib=$value ;;
    lguest.blk.direct-mib=*) blk_direct_mib=$value ;;
    lguest.rng.bytes=*) rng_bytes=$value ;;
    lguest.records.writers=*) records_writers=$value ;;
    lguest.records.seconds=*) records_seconds=$value ;;
    lguest.dd.mib=*) dd_mib=$value ;;
    lguest.dd.bs=*) dd_bs=$value ;;
    lguest.dd.passes=*) dd_passes=$value ;;
    lguest.net.if=*) net_if=$value ;;
    lguest.ip=*) net_ip=$value ;;
    lguest.ping=*) net_peer=$value ;;
    lguest.reboot=*) reboot_mode=$value ;;
    lguest.reboot.sector=*) reboot_sector=$value ;;
  esac
done
disk=/dev/$blk_dev

# Waits up to 5 s for a path: device probing may finish after insmod returns.
wait_for() {
  i=0
  while [ ! -e "$1" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  [ -e "$1" ]
}

sum_of() { sha256sum | cut -d' ' -f1; }

check_blk_size() {
  if wait_for "$disk"; then
    echo "LGUEST-CHECK blk-size $(blockdev --getsize64 "$disk")"
  else
    echo "LGUEST-CHECK blk-size fail"
  fi
}

check_blk_sum() {
  if wait_for "$disk"; then
    echo "LGUEST-CHECK blk-sum $(dd if="$disk" bs=1M count="$blk_mib" 2>/dev/null | sum_of)"
  else
    echo "LGUEST-CHECK blk-sum fail"
  fi
}

check_blk_marker() {
  wait_for "$disk" || { echo "LGUEST-CHECK blk-marker fail"; return; }
  printf '%s' "$blk_marker" >/tmp/marker
  dd if=/tmp/marker of=/tmp/marker.sector bs=512 count=1 conv=sync 2>/dev/null
  sector=$((blk_marker_offset / 512))
  if dd if=/tmp/marker.sector of="$disk" bs=512 seek="$sector" count=1 oflag=direct conv=fsync,notrunc 2>/dev/null &&
    sync &&
    [ "$(dd if="$disk" bs=512 skip="$sector" count=1 iflag=direct 2>/dev/null | sum_of)" = "$(sum_of </tmp/marker.sector)" ]; then
    echo "LGUEST-CHECK blk-marker ok"
  else
    echo "LGUEST-CHECK blk-marker fail"
  fi
}

check_blk_direct() {
  wait_for "$disk" || { echo "LGUEST-CHECK blk-direct fail"; return; }
  yes lguest-direct-pattern-0123456789 | dd of=/tmp/pattern bs=1M count="$blk_direct_mib" iflag=fullblock 2>/dev/null
  expected=$(sum_of </tmp/pattern)
  if dd if=/tmp/pattern of="$disk" bs=1M seek="$blk_direct_offset_mib" count="$blk_direct_mib" oflag=direct conv=fsync,notrunc 2>/dev/null; then
    actual=$(dd if="$disk" bs=1M skip="$blk_direct_offset_mib" count="$blk_direct_mib" iflag=direct 2>/dev/null | sum_of)
  else
    actual=write-failed
  fi
  rm -f /tmp/pattern
  if [ "$actual" = "$expected" ]; then
    echo "LGUEST-CHECK blk-direct ok $actual"
  else
    echo "LGUEST-CHECK blk-direct fail $actual"
  fi
}

# Many writers at once give the device a deep queue; a back end killed and restarted under them must lose no
# acknowledged chunk and fail no write.
check_blk_records() {
  wait_for "$disk" || { echo "LGUEST-CHECK blk-records fail"; return; }
  end=$(( $(cut -d. -f1 /proc/uptime) + records_seconds ))
  echo "LGUEST-RECORDS started"
  w=0
  while [ "$w" -lt "$records_writers" ]; do
    (
      c=0
      errors=0
      while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] && [ "$c" -lt 256 ]; do
        { echo "lguest-record $w $c"; yes "lguest-record-payload-$w-$c"; } | dd of=/tmp/chunk.$w bs=64k count=1 iflag=fullblock 2>/dev/null
        if dd if=/tmp/chunk.$w of="$disk" bs=64k seek=$((w * 256 + c)) count=1 oflag=direct conv=notrunc 2>/dev/null; then
          sum_of </tmp/chunk.$w >/tmp/sum.$w.$c
          c=$((c + 1))
        else
          errors=$((errors + 1))
        fi
      done
      echo "$c $errors" >/tmp/acked.$w
    ) &
    w=$((w + 1))
  done
  wait
  acked=0
  errors=0
  mismatches=0
  w=0
  while [ "$w" -lt "$records_writers" ]; do
    read -r count failed </tmp/acked.$w
    acked=$((acked + count))
    errors=$((errors + failed))
    c=0
    while [ "$c" -lt "$count" ]; do
      [ "$(dd if="$disk" bs=64k skip=$((w * 256 + c)) count=1 iflag=direct 2>/dev/null | sum_of)" = "$(cat /tmp/sum.$w.$c)" ] || mismatches=$((mismatches + 1))
      c=$((c + 1))
    done
    w=$((w + 1))
  done
  if [ "$errors" = 0 ] && [ "$mismatches" = 0 ] && [ "$acked" -gt 0 ]; then
    echo "LGUEST-CHECK blk-records ok $acked $errors $mismatches"
  else
    echo "LGUEST-CHECK blk-records fail $acked $errors $mismatches"
  fi
}

# $1: dd-read or dd-write. The rate is MiB over the seconds /proc/uptime advanced across dd.
check_dd() {
  wait_for "$disk" || { echo "LGUEST-CHECK $1 fail"; return; }
  bytes=$(($(blockdev --getsize64 "$disk")))
  count=$((dd_mib * 1048576))
  if [ $count -gt "$bytes" ]; then
    echo "LGUEST-CHECK $1 fail too-small"
    return
  fi
  # Debian's busybox dd prints no time of its own, so /proc/uptime around all passes: enough passes for a
  # second or more keep its 10 ms steps out of the result.
  ok=0
  pass=0
  t0=$(cut -d' ' -f1 /proc/uptime)
  while [ $pass -lt "$dd_passes" ] && [ $ok -eq 0 ]; do
    if [ "$1" = dd-read ]; then
      dd if="$disk" of=/dev/null bs="$dd_bs" count="$count" iflag=direct,count_bytes 2>/dev/null || ok=1
    else
      dd if=/dev/zero of="$disk" bs="$dd_bs" count="$count" iflag=count_bytes oflag=direct conv=fsync,notrunc 2>/dev/null || ok=1
    fi
    pass=$((pass + 1))
  done
  t1=$(cut -d' ' -f1 /proc/uptime)
  if [ $ok -ne 0 ]; then
    echo "LGUEST-CHECK $1 fail"
    return
  fi
  echo "LGUEST-CHECK $1 $(awk -v m="$((dd_mib * dd_passes))" -v a="$t0" -v b="$t1" 'BEGIN { s = b - a; if (s <= 0) s = 0.005; printf "%.1f %d %.2f", m / s, m, b - a }')"
}

check_rng() {
  # hw_random is built in, so /dev/hwrng always exists; wait (up to 5 s) for a source to register instead.
  i=0
  while current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null) && [ "${current:-none}" = none ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  got=$(dd if=/dev/hwrng bs="$rng_bytes" count=1 iflag=fullblock 2>/dev/null | wc -c)
  echo "LGUEST-CHECK rng ${current:-none} $got"
}

check_net_ping() {
  wait_for "/sys/class/net/$net_if" || { echo "LGUEST-CHECK net-ping fail no-$net_if"; return; }
  ip link set lo up
  ip link set "$net_if" up
  ip addr add "$net_ip" dev "$net_if"
  replies=$(ping -c 3 -i 0.2 -W 2 "$net_peer" 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  if [ "${replies:-0}" -gt 0 ]; then
    echo "LGUEST-CHECK net-ping ok ${replies}/3"
  else
    echo "LGUEST-CHECK net-ping fail ${replies:-0}/3"
  fi
}

# The reboot flag: a sector on the disk that holds "LGUEST-REBOOTED" between the two boots.
flag_sector() {
  if [ -n "$reboot_sector" ]; then
    echo "$reboot_sector"
  else
    echo $(($(blockdev --getsize64 "$disk") / 512 - 1))
  fi
}
write_flag() { # $1: the text, or empty to zero the sector
  dd if=/dev/zero of=/tmp/flag bs=512 count=1 2>/dev/null
  printf '%s' "$1" | dd of=/tmp/flag conv=notrunc 2>/dev/null
  dd if=/tmp/flag of="$disk" bs=512 seek="$(flag_sector)" count=1 oflag=direct conv=fsync,notrunc 2>/dev/null
  sync
}

boot=1
if [ "$reboot_mode" = once ]; then
  if wait_for "$disk"; then
    if dd if="$disk" bs=512 skip="$(flag_sector)" count=1 iflag=direct 2>/dev/null | grep -q LGUEST-REBOOTED; then
      boot=2
    fi
  else
    echo "LGUEST-CHECK reboot fail no-disk"
  fi
fi
echo "LGUEST-BOOT $boot"

for check in $checks; do
  case "$check" in
    blk-size) check_blk_size ;;
    blk-sum) check_blk_sum ;;
    blk-marker) check_blk_marker ;;
    blk-direct) check_blk_direct ;;
    blk-records) check_blk_records ;;
    dd-read | dd-write) check_dd "$check" ;;
    rng) check_rng ;;
    net-ping) check_net_ping ;;
    *) echo "LGUEST-CHECK $check unknown" ;;
  esac
done

if [ "$reboot_mode" = once ] && [ $boot = 1 ] && [ -e "$disk" ]; then
  write_flag LGUEST-REBOOTED
  echo "LGUEST-REBOOT"
  reboot -f
fi
[ $boot = 2 ] && write_flag ""
echo "LGUEST-DONE"
poweroff -f
INIT
chmod 755 "$root/init"

# Reproducible: fixed timestamps, sorted names, --reproducible inode numbers, gzip without a name or time.
find "$root" -exec touch -h -d @0 {} +
mkdir -p "$(dirname "$output")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet -R 0:0) | gzip -n -6 >"$output.tmp"
mv -f "$output.tmp" "$output"
