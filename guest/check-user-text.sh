#!/bin/sh
# check-user-text.sh ELF: fail when code in .utext (it runs at CPL 3) refers to anything outside
# the user pages [__user_start, __user_end): such a reference would #PF at run time. Needs an
# ELF linked with --emit-relocs. Does not see computed addresses (they come from user data).
elf=$1
lo=$(nm "$elf" | awk '$3 == "__user_start" { print $1 }')
hi=$(nm "$elf" | awk '$3 == "__user_end" { print $1 }')
[ -n "$lo" ] && [ -n "$hi" ] || { echo "$0: no __user_start/__user_end in $elf" >&2; exit 1; }
readelf -rW "$elf" | awk -v lo="$lo" -v hi="$hi" '
	/^Relocation section/ { on = index($0, "'"'"'.rela.utext'"'"'") > 0; next }
	on && NF >= 5 && $1 ~ /^[0-9a-f]+$/ {
		v = $4 ""
		if (v < lo "" || v >= hi "") { print "guest: .utext refers outside the user pages: " $0; bad = 1 }
	}
	END { exit bad }' >&2
