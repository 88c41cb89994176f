/* bench_cmp.c - the interpreter of this tree against an old one in the same
 * process (make bench-emu-cmp; the old one is EMU_OLD, by default 02878d4,
 * the interpreter before issue 16): each workload of bench_work.c runs on
 * the same buffers, old and new alternating, timed by thread CPU time; the
 * best of R runs each (a shared machine). Prints MIPS, the ratio of the
 * best times and the median of the R ratios of back-to-back pairs.
 * usage: bench_cmp [R] [workload] [turns] [words]: turns (random-8MiB's loop,
 * default 4,000,000) makes a short run for callgrind (--toggle-collect=old_call
 * or new_call: host instructions and cache misses per turn of each); words
 * (a power of two up to 1 << 20) shrinks the array it walks; "2m" as a fifth argument
 * backs that array with 2 MiB pages. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

typedef uint64_t u64;
u64 old_call(void *fn, const u64 *a, u64 *sp_top, u64 *n);
u64 new_call(void *fn, const u64 *a, u64 *sp_top, u64 *n);
uint64_t work_alu(uint64_t n);
uint64_t work_crc32(const uint8_t *p, size_t n);
uint64_t work_sort(uint32_t *a, size_t n);
uint64_t work_loop_copy(uint8_t *d, const uint8_t *s, size_t n, size_t reps);
uint64_t work_random(uint64_t *a, size_t n, size_t iters);

static u64 stack[1 << 16] __attribute__((aligned(16)));
static uint8_t src[1 << 18], dst[1 << 18];
static uint32_t keys[1 << 16];
/* 8 MiB, 2 MiB-aligned (mmap'd in main: a 2 MiB-aligned .bss makes valgrind 3.19 drop the
 * binary's symbols, "ELF section outside all mapped regions"): with the argument "2m" it is
 * backed by 2 MiB pages (madvise), as the hypervisor maps guest RAM (kernel/paging.c); by
 * default 4 KiB pages, as malloc gives. */
#define BIG_BYTES (8u << 20)
static u64 *big;

static struct {
	const char *name;
	void *fn;
	u64 a[4];
} wls[] = {
	{"alu-loop", (void *)work_alu, {20000000}},
	{"crc32", (void *)work_crc32, {(u64)src, sizeof(src)}},
	{"heapsort", (void *)work_sort, {(u64)keys, 1 << 16}},
	{"memcpy-loop", (void *)work_loop_copy, {(u64)dst, (u64)src, sizeof(src), 40}},
	{"random-8MiB", (void *)work_random, {0 /* big */, 1 << 20, 4000000}},
};

static u64 native_call(void *fn, const u64 *a, u64 *sp_top, u64 *n)
{
	(void)sp_top;
	*n = 0;
	if (fn == (void *)work_alu) return work_alu(a[0]);
	if (fn == (void *)work_crc32) return work_crc32((uint8_t *)a[0], a[1]);
	if (fn == (void *)work_sort) return work_sort((uint32_t *)a[0], a[1]);
	if (fn == (void *)work_loop_copy) return work_loop_copy((uint8_t *)a[0], (uint8_t *)a[1], a[2], a[3]);
	return work_random((u64 *)a[0], a[1], a[2]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One timed run of workload w by call; returns seconds, *sum the checksum. */
static double run(u64 (*call)(void *, const u64 *, u64 *, u64 *), unsigned w, u64 *n, u64 *sum)
{
	memset(big, 0, BIG_BYTES); /* the same start for every run */
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + (i >> 9));
	double t0 = cpu_now();
	*sum = call(wls[w].fn, wls[w].a, &stack[1 << 16], n);
	return cpu_now() - t0;
}

/* How much of the process is in 2 MiB pages (random-8MiB's array is 8,192 kB of it when asked). */
static void print_huge(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "AnonHugePages:", 14))
			printf("%s", line);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 3;
	reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
	if (argc > 3 && atoll(argv[3]) > 0)
		wls[4].a[2] = (u64)atoll(argv[3]);
	if (argc > 4 && atoll(argv[4]) > 0 && atoll(argv[4]) <= 1 << 20 && !(atoll(argv[4]) & (atoll(argv[4]) - 1)))
		wls[4].a[1] = (u64)atoll(argv[4]);
	uint8_t *m = mmap(0, BIG_BYTES + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	big = (u64 *)(((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	wls[4].a[0] = (u64)big;
	if (argc > 5 && !strcmp(argv[5], "2m")) {
		if (madvise(big, BIG_BYTES, MADV_HUGEPAGE))
			perror("madvise(MADV_HUGEPAGE)");
		printf("random-8MiB's array: 2 MiB pages asked for (AnonHugePages in /proc/self/smaps tells)\n");
	} else if (madvise(big, BIG_BYTES, MADV_NOHUGEPAGE)) {
		perror("madvise(MADV_NOHUGEPAGE)");
	}
	printf("%-12s %12s %9s %9s %7s %7s %10s\n", "workload", "emu-insns", "old-MIPS", "new-MIPS", "new/old", "median",
	       "native-ms");
	for (unsigned w = 0; w < sizeof(wls) / sizeof(wls[0]); w++) {
		if (argc > 2 && strcmp(argv[2], wls[w].name))
			continue;
		double to = 1e9, tn = 1e9, tx = 1e9, ratio[64];
		u64 no = 0, nn = 0, so = 0, sn = 0, nx, sx = 0;
		for (int r = 0; r < reps; r++) {
			double t = run(old_call, w, &no, &so), u = run(new_call, w, &nn, &sn);
			to = t < to ? t : to;
			tn = u < tn ? u : tn;
			ratio[r] = t / u;
			t = run(native_call, w, &nx, &sx);
			tx = t < tx ? t : tx;
		}
		if (so != sn || sx != sn || no != nn || sn == ~0ull) {
			fprintf(stderr, "%s: old and new differ (sum %llx/%llx, %llu/%llu instructions)\n", wls[w].name,
				(unsigned long long)so, (unsigned long long)sn, (unsigned long long)no,
				(unsigned long long)nn);
			return 1;
		}
		qsort(ratio, (size_t)reps, sizeof(double), cmp_double);
		if (w == 4)
			print_huge();
		printf("%-12s %12llu %9.1f %9.1f %6.2fx %6.2fx %10.2f\n", wls[w].name, (unsigned long long)nn, nn / to / 1e6,
		       nn / tn / 1e6, to / tn, ratio[reps / 2], tx * 1e3);
	}
	return 0;
}
