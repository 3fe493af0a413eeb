namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// The initramfs's own scripts. The contract a launcher codes against:
/// <list type="bullet">
/// <item>Kernel command-line words: <c>lguest.ip=ADDR/PREFIX</c> brings eth0 up with that address (absent: no
/// network set-up beyond lo); <c>lguest.interactive=1</c> (the default) or <c>0</c>.</item>
/// <item>The line <see cref="ReadyLine"/> comes out on /dev/hvc0 just before the shell starts (on the kernel's
/// console device instead when the guest has no virtio console).</item>
/// <item>Interactive: a login-less shell with job control and a prompt; when it exits the guest powers off.</item>
/// <item>Script: the shell reads commands from hvc0 with echo off and no prompt (and output newlines not turned
/// into CR LF), so only command output comes back; at end of input (^D) it exits and the guest powers off.</item>
/// <item>reboot, poweroff (through busybox init) and reboot -f, poweroff -f all work; each syncs the disks first.</item>
/// </list>
/// Bump <see cref="Version"/> whenever a script changes: it is part of the cache key, so every cached initramfs
/// built with the old scripts is rebuilt.
/// </summary>
internal static class GuestInitScripts
{
    public const int Version = 2;

    public const string ReadyLine = "lguest: guest ready";

    /// <summary>The modules /init loads, one name per line, in load order (files at /lib/modules/NAME.ko).</summary>
    public const string ModuleListPath = "etc/modules";

    /// <summary>PID 1 until it execs busybox init: mounts, modules, network, then the inittab for the shell.</summary>
    public const string Init = """
        #!/bin/sh
        # lguest guest /init: mount, load the virtio modules, set up eth0, then hand over to busybox init.
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        if ! mount -t devtmpfs devtmpfs /dev 2>/dev/null; then
          # No devtmpfs: a tmpfs that mdev fills now and keeps up to date as modules add devices.
          mount -t tmpfs -o mode=0755 tmpfs /dev
          echo /bin/mdev >/proc/sys/kernel/hotplug
          mdev -s
        fi
        mkdir -p /dev/pts /dev/shm
        mount -t devpts -o gid=5,mode=620 devpts /dev/pts
        mount -t tmpfs tmpfs /tmp
        mount -t tmpfs tmpfs /run
        hostname lguest

        while read -r module; do
          insmod "/lib/modules/$module.ko" || echo "lguest: cannot load module $module" >&2
        done </etc/modules

        ip=""
        for word in $(cat /proc/cmdline); do
          case "$word" in
            lguest.ip=*) ip=${word#*=} ;;
          esac
        done

        # Waits up to 10 s for a path: devices appear after insmod returns, and TCG is slow.
        wait_for() {
          i=0
          while [ ! -e "$1" ] && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
          done
          [ -e "$1" ]
        }

        ip link set lo up
        if [ -n "$ip" ]; then
          if wait_for /sys/class/net/eth0; then
            ip addr add "$ip" dev eth0 && ip link set eth0 up || echo "lguest: cannot give eth0 the address $ip" >&2
          else
            echo "lguest: lguest.ip=$ip but there is no eth0" >&2
          fi
        fi

        # A virtio console on the PCI bus (virtio-serial: 1af4:1003 transitional, 1af4:1043 modern)?
        has_virtio_console() {
          for d in /sys/bus/pci/devices/*; do
            case "$(cat "$d/vendor" "$d/device" 2>/dev/null | tr '\n' ' ')" in
              "0x1af4 0x1003 " | "0x1af4 0x1043 ") return 0 ;;
            esac
          done
          return 1
        }

        # The shell's terminal: the virtio console, or else whatever the kernel's console really is.
        if has_virtio_console && wait_for /dev/hvc0; then
          tty=hvc0
        else
          tty=$(sed 's/.* //' /sys/class/tty/console/active 2>/dev/null)
          echo "lguest: no /dev/hvc0 (no virtio console); the shell runs on ${tty:-console}" >&2
        fi
        cat >/etc/inittab <<EOF
        ::sysinit:/bin/true
        ${tty:-console}::once:/etc/lguest-shell
        ::ctrlaltdel:/bin/reboot
        ::shutdown:/bin/sync
        EOF

        # From here on the console is the shell's: kernel messages below emergencies would garble its output.
        dmesg -n 1
        exec /bin/init
        """;

    /// <summary>
    /// Run by busybox init on the shell's terminal, as a session leader that owns it (so the shell gets job
    /// control). It stays the shell's parent so that the end of the shell powers the guest off.
    /// </summary>
    public const string Shell = """
        #!/bin/sh
        # lguest guest shell: interactive on a terminal, or a script read from the console; power off after.
        interactive=1
        for word in $(cat /proc/cmdline); do
          case "$word" in
            lguest.interactive=*) interactive=${word#*=} ;;
          esac
        done
        export HOME=/root PS1='lguest:\w# '
        cd /root
        # ^C reaches this script too when the shell has no job control: it must live on to power off.
        trap : INT QUIT
        if [ "$interactive" = 0 ]; then
          # Off before the ready line, so nothing the host sends after it is echoed back.
          stty -echo -onlcr
          echo "lguest: guest ready"
          sh /proc/self/fd/0
        else
          echo "lguest: guest ready"
          sh -i
        fi
        sync
        poweroff -f
        """;
}
