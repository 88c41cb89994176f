#!/bin/sh
# mkiso.sh OUT.iso KERNEL.elf GRUB.cfg [MODULE...]: a small BIOS-bootable GRUB ISO with the
# kernel as /boot/hvlab.elf and each module under /boot/. Only the GRUB modules we use are
# installed (serial and terminal: the menu of iso/grub.cfg is on COM1), no fonts, themes or
# locales: the ISO boots faster under Bochs.
set -e
out=$1 elf=$2 cfg=$3
shift 3
dir=$(mktemp -d "${TMPDIR:-/tmp}/hvlab-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# The ISO's files go in $dir/root; the log stays outside it (xorriso fails when a file it is
# packing grows while it reads it, as its own log would).
mkdir -p "$dir/root/boot/grub"
cp "$elf" "$dir/root/boot/hvlab.elf"
cp "$cfg" "$dir/root/boot/grub/grub.cfg"
for m in "$@"; do cp "$m" "$dir/root/boot/"; done
grub-mkrescue --install-modules="multiboot2 normal iso9660 biosdisk serial terminal" --locales="" --fonts="" \
	--themes="" --compress=no -o "$out" "$dir/root" >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
