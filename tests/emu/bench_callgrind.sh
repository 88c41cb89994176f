#!/bin/sh
# bench_callgrind.sh BENCH OUTDIR - host instructions per emulated
# instruction, counted by callgrind inside emu_run only (deterministic).
bench=$1; out=$2
command -v valgrind >/dev/null || { echo "valgrind not installed: no callgrind count"; exit 0; }
printf "%-18s %12s %14s %12s\n" workload emu-insns host-Ir host-Ir/insn
for w in $($bench -l); do
	n=$(valgrind --tool=callgrind --toggle-collect=emu_run --callgrind-out-file=$out/cg.$w \
		$bench -c $w 2>/dev/null) || { echo "$w: failed"; continue; }
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' $out/cg.$w)
	awk -v w=$w -v n=$n -v ir=$ir 'BEGIN { printf "%-18s %12d %14d %12.1f\n", w, n, ir, ir / n }'
done
