#!/bin/sh
# deps.sh PURPOSE...: check the host tools hvlab needs for PURPOSE (build, run, test, coverage,
# fuzz) and install the missing Debian packages with apt-get (sudo when not root), saying what
# it installs. Where it cannot install, it prints the exact command to run and fails.
set -u
need=""
want() { # want TEST PACKAGE: add PACKAGE when the shell test TEST fails
	if ! eval "$1" >/dev/null 2>&1; then
		case " $need " in *" $2 "*) ;; *) need="$need $2" ;; esac
	fi
}
have() { command -v "$1"; }
for purpose in "$@"; do
	case "$purpose" in
	build|run|test|coverage|fuzz)
		want "have gcc" gcc
		want "have ld && have objcopy" binutils
		want "have make" make
		want "have python3" python3
		want "have grub-mkrescue" grub-common
		want "test -d /usr/lib/grub/i386-pc" grub-pc-bin
		want "have xorriso" xorriso
		want "have mformat" mtools ;;
	*) echo "deps.sh: unknown purpose '$purpose'" >&2; exit 2 ;;
	esac
	case "$purpose" in
	run|test)
		want "have bochs" bochs
		want "test -f /usr/share/bochs/BIOS-bochs-latest" bochsbios
		want "test -f /usr/share/vgabios/vgabios.bin" vgabios
		want "ls /usr/lib/*/bochs/plugins/libbx_term_gui.so*" bochs-term
		want "have qemu-system-x86_64" qemu-system-x86 ;;
	esac
	case "$purpose" in
	test|coverage)
		want "have lcov && have genhtml" lcov
		want "have valgrind" valgrind ;;
	esac
	case "$purpose" in
	fuzz)
		want "have clang" clang
		want "ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev ;;
	esac
done
[ -z "$need" ] && exit 0
echo "deps: missing packages:$need"
if [ "$(id -u)" = 0 ]; then sudo=""; elif have sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
if ! have apt-get >/dev/null || [ "$sudo" = none ]; then
	echo "deps: cannot install them here; run as root:  apt-get update && apt-get install -y$need" >&2
	exit 1
fi
echo "deps: installing with: $sudo apt-get install -y$need"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null 2>&1 || echo "deps: apt-get update failed; trying the install anyway" >&2
if ! $sudo apt-get install -y -qq --no-install-recommends$need >/tmp/hvlab-deps.log 2>&1; then
	tail -20 /tmp/hvlab-deps.log >&2
	echo "deps: the install failed; run:  $sudo apt-get update && $sudo apt-get install -y$need" >&2
	exit 1
fi
echo "deps: installed$need"
