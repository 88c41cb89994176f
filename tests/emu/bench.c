/* bench.c - emulator benchmark: runs each workload of bench_work.c (general
 * registers only) and of bench_c.c (built three ways, SSE as the compilers
 * choose) natively and in the emulator (identity-mapped host memory, through
 * the TLB fast path) and prints emulated MIPS and the slowdown. It fails if
 * a checksum differs or the emulator stops anywhere but at the return (no
 * unsupported instruction, nothing handed to the hypervisor).
 * usage: bench            all workloads, timed
 *        bench -l         the workload names
 *        bench -c NAME    one small emulated run of NAME (for callgrind) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../emulator/emu.h"

uint64_t work_alu(uint64_t n);
uint64_t work_crc32(const uint8_t *p, size_t n);
uint64_t work_sort(uint32_t *a, size_t n);
uint64_t work_rep_movsb(uint8_t *d, const uint8_t *s, size_t n, size_t reps);
uint64_t work_loop_copy(uint8_t *d, const uint8_t *s, size_t n, size_t reps);
uint64_t work_random(uint64_t *a, size_t n, size_t iters);
#define CW(v) u64 w_hash_##v(u8 *, size_t), w_sort_##v(u8 *, size_t), w_table_##v(u8 *, size_t), \
	w_vm_##v(u8 *, size_t), w_lz77_##v(u8 *, size_t), w_tokens_##v(u8 *, size_t), w_bigint_##v(u8 *, size_t), \
	w_crc_##v(u8 *, size_t), w_queens_##v(u8 *, size_t);
CW(o2) CW(o3v2) CW(clang)

#include "bench_idmem.h"
static struct emu em;
static u64 stack[1 << 16] __attribute__((aligned(16)));
static u8 src[1 << 18], dst[1 << 18];
static u32 keys[1 << 16];
static u64 big[1 << 20]; /* 8 MiB */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Call fn(a0..a3) in the emulator; returns RAX, *n = instructions. */
static u64 emu_call(void *fn, u64 a0, u64 a1, u64 a2, u64 a3, u64 *n)
{
	emu_init(&em, &id_ops, 0);
	em.cpu.cr0 = 0x80000033; /* PG NE ET MP PE */
	em.cpu.cr4 = EMU_CR4_OSFXSR | EMU_CR4_OSXMMEXCPT;
	u64 sp = (u64)&stack[(1 << 16) - 3]; /* RSP + 8 aligned to 16 at entry, as the ABI says */
	*(u64 *)sp = SENTINEL;
	em.cpu.gpr[EMU_RSP] = sp;
	em.cpu.gpr[EMU_RDI] = a0;
	em.cpu.gpr[EMU_RSI] = a1;
	em.cpu.gpr[EMU_RDX] = a2;
	em.cpu.gpr[EMU_RCX] = a3;
	em.cpu.rip = (u64)fn;
	struct emu_result r = emu_run(&em, 0x10000, 1ull << 47, ~0ull);
	if (r.reason != EMU_STOP_LEFT_REGION || em.cpu.rip != SENTINEL) {
		fprintf(stderr, "bench: stopped: %s (%s) at %llx, bytes", emu_stop_name(r.reason),
			emu_exit_name(r.exit), (unsigned long long)em.cpu.rip);
		for (int i = 0; i < r.nbytes; i++)
			fprintf(stderr, " %02x", r.bytes[i]);
		fprintf(stderr, "\n");
		exit(1);
	}
	*n = r.executed;
	return em.cpu.gpr[EMU_RAX];
}

struct wl {
	const char *name;
	void *fn;
	u64 a[4], small[4];
};

static u8 scratch[1 << 21];

static u64 native(const struct wl *w, const u64 *a)
{
	if (w->fn == (void *)work_alu) return work_alu(a[0]);
	if (w->fn == (void *)work_crc32) return work_crc32((u8 *)a[0], a[1]);
	if (w->fn == (void *)work_sort) return work_sort((u32 *)a[0], a[1]);
	if (w->fn == (void *)work_random) return work_random((u64 *)a[0], a[1], a[2]);
	if (w->fn == (void *)work_rep_movsb) return work_rep_movsb((u8 *)a[0], (u8 *)a[1], a[2], a[3]);
	if (w->fn == (void *)work_loop_copy) return work_loop_copy((u8 *)a[0], (u8 *)a[1], a[2], a[3]);
	return ((u64(*)(u8 *, size_t))w->fn)((u8 *)a[0], a[1]);
}

#define C3(name, n, small)                                                                          \
	{#name "-o2", (void *)name##_o2, {(u64)scratch, n}, {(u64)scratch, small}},                   \
	{#name "-o3v2", (void *)name##_o3v2, {(u64)scratch, n}, {(u64)scratch, small}},               \
	{#name "-clang", (void *)name##_clang, {(u64)scratch, n}, {(u64)scratch, small}}

static const struct wl wls[] = {
	{"alu-loop", (void *)work_alu, {20000000}, {200000}},
	{"crc32", (void *)work_crc32, {(u64)src, sizeof(src)}, {(u64)src, 4096}},
	{"heapsort", (void *)work_sort, {(u64)keys, 1 << 16}, {(u64)keys, 2048}},
	{"memcpy-rep-movsb", (void *)work_rep_movsb, {(u64)dst, (u64)src, sizeof(src), 200},
	 {(u64)dst, (u64)src, sizeof(src), 2}},
	{"memcpy-loop", (void *)work_loop_copy, {(u64)dst, (u64)src, sizeof(src), 40}, {(u64)dst, (u64)src, 65536, 1}},
	{"random-8MiB", (void *)work_random, {(u64)big, 1 << 20, 4000000}, {(u64)big, 1 << 20, 40000}},
	C3(w_hash, 1 << 20, 1 << 15), C3(w_sort, 1 << 18, 1 << 14), C3(w_table, 1 << 19, 1 << 16),
	C3(w_vm, 1 << 22, 1 << 18), C3(w_lz77, 1 << 20, 1 << 16), C3(w_tokens, 1 << 19, 1 << 14),
	C3(w_bigint, 1 << 16, 1 << 14), C3(w_crc, 1 << 20, 1 << 15), C3(w_queens, 1 << 20, 1 << 13),
};

int main(int argc, char **argv)
{
	unsigned nw = sizeof(wls) / sizeof(wls[0]);
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (u8)(i * 7 + (i >> 9));
	if (argc == 2 && !strcmp(argv[1], "-l")) {
		for (unsigned i = 0; i < nw; i++)
			printf("%s\n", wls[i].name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "-c")) {
		for (unsigned i = 0; i < nw; i++)
			if (!strcmp(argv[2], wls[i].name)) {
				u64 n;
				const u64 *a = wls[i].small;
				emu_call(wls[i].fn, a[0], a[1], a[2], a[3], &n);
				printf("%llu\n", (unsigned long long)n);
				return 0;
			}
		return 1;
	}
	printf("%-18s %12s %9s %9s %10s %9s\n", "workload", "emu-insns", "emu-MIPS", "emu-ms", "native-ms", "slowdown");
	for (unsigned i = 0; i < nw; i++) {
		const struct wl *w = &wls[i];
		u64 n, rn = 0;
		double tn = 1e9, te = 1e9; /* best of 3 native and 2 emulated runs (a shared machine) */
		for (int r = 0; r < 5; r++) {
			memset(big, 0, sizeof(big)); /* the same start for every run */
			double t0 = now();
			u64 v = r < 3 ? native(w, w->a) : emu_call(w->fn, w->a[0], w->a[1], w->a[2], w->a[3], &n);
			double t = now() - t0;
			if (r < 3)
				rn = v, tn = t < tn ? t : tn;
			else
				te = t < te ? t : te;
			if (r >= 3 && v != rn) {
				fprintf(stderr, "%s: checksum mismatch\n", w->name);
				return 1;
			}
		}
		printf("%-18s %12llu %9.1f %9.1f %10.2f %8.1fx", w->name, (unsigned long long)n,
		       (double)n / te / 1e6, te * 1e3, tn * 1e3, te / tn);
		if (i == 3 || i == 4)
			printf("  (%.0f MB/s emulated)", (double)w->a[2] * (double)w->a[3] / te / 1e6);
		printf("\n");
	}
	printf("all %u workloads: the same checksum natively and emulated, no stop before the return\n", nw);
	return 0;
}
