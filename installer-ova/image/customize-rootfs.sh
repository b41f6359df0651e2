#!/bin/sh
# mmdebstrap --customize-hook: $1 is the new root, $2 the overlay (installer-ova/image/rootfs).
# Runs once per base image; the product (/opt/pcg) is added by build-appliance after it.
set -eu
root="$1"
overlay="$2"

# Owned by root whoever owns the checkout; modes as in the tree (0644 files, 0755 dirs).
cp -R --preserve=mode "$overlay/." "$root/"

# No password login anywhere: root locked, pcg has a locked password and gets its key from pcg.sshKey.
chroot "$root" passwd --lock root >/dev/null
chroot "$root" useradd --create-home --shell /bin/bash --groups systemd-journal pcg
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  pcg-first-boot.service pcg-installer.service pcg-auto-setup.service pcg-ssh-hostkeys.service
# pcg-gateway.service stays disabled: setup enables it once the gateway is paired.

# Per-machine identity is made at first boot, so no two appliances share it.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"

install -d -m 0700 "$root/var/lib/pcg-installer"
install -d -m 0755 "$root/etc/pcg" "$root/opt/pcg"

chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/var/log/*.log
