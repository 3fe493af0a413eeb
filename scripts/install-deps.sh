#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test Lguest.
# The .NET 10 SDK itself must already be on PATH (Debian has no package for it).
set -euo pipefail

packages=(
  iproute2                # network namespaces and tap configuration for the network tests
  linux-image-cloud-amd64 # a real bzImage (/vmlinuz) for the quickstart, and the kernel of the real-guest tests
  qemu-system-x86         # qemu-system-x86_64: boots the real-guest tests' kernel (TCG) with vhost-user devices
  qemu-system-common      # qemu-storage-daemon: QEMU's own vhost-user-blk back end, the real-guest tests' baseline
  busybox-static          # the static busybox the real-guest initramfs is built from (scripts/make-test-initramfs.sh)
  kmod                    # modprobe --show-depends: the initramfs's virtio module load order
  cpio                    # packs the real-guest initramfs (newc)
  afl++                   # afl-fuzz: drives the SharpFuzz targets in fuzz/ (fuzz/run.sh TARGET SECONDS)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v dotnet >/dev/null || { echo "install-deps: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 1; }
