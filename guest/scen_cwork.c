/* scen_cwork.c: "regions_cwork": the C workloads of rgn_cwork.c (compiled with SSE) natively, then
 * inside one emulated region covering their code, on the same input. Checksums must agree, and the
 * region must run them all in the interpreter: no instruction stepped on the CPU, nothing
 * unsupported, one VM exit per entry. The guest turns on SSE itself (CR4.OSFXSR, OSXMMEXCPT),
 * as an OS does before running compiled code. */
#include "region.h"

#define X86_CR4_OSFXSR BIT(9)
#define X86_CR4_OSXMMEXCPT BIT(10)

typedef unsigned long long (*cwork_fn)(u8 *m, size_t n);
#define CWORKS(X) X(w_hash, 1 << 14) X(w_sort, 1 << 12) X(w_table, 1 << 13) X(w_vm, 1 << 15) X(w_lz77, 1 << 14) \
	X(w_tokens, 1 << 13) X(w_bigint, 1 << 12) X(w_crc, 1 << 14) X(w_queens, 1 << 13)
#define DECL(name, n) unsigned long long name##_guest(u8 *m, size_t sz);
CWORKS(DECL)
#define ENTRY(name, n) {#name, name##_guest, n},
static const struct {
	const char *name;
	cwork_fn fn;
	size_t n;
} cworks[] = {CWORKS(ENTRY)};
#define CW_N (sizeof(cworks) / sizeof(cworks[0]))
extern char __cwork_start[], __cwork_end[];

static u8 mem[1 << 16] __attribute__((aligned(64)));

/* out[3w..3w+2]: native TSC, emulated TSC, instructions emulated; out[27..31]: entries, exits,
 * stepped, unsupported, checksum mismatches (all workloads). */
void scen_regions_cwork(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
	u64 nat[CW_N], t0;
	for (u32 w = 0; w < CW_N; w++) {
		t0 = rdtsc();
		nat[w] = cworks[w].fn(mem, cworks[w].n);
		o[3 * w] = rdtsc() - t0;
	}
	s64 id = rgn_add(__cwork_start, (u64)(__cwork_end - __cwork_start));
	GEXPECT(id >= 0);
	struct hv_region_stats before = rgn_stats(id), st = before;
	u64 bad = 0;
	for (u32 w = 0; w < CW_N; w++) {
		t0 = rdtsc();
		u64 emu = cworks[w].fn(mem, cworks[w].n);
		o[3 * w + 1] = rdtsc() - t0;
		struct hv_region_stats now = rgn_stats(id);
		o[3 * w + 2] = now.instructions - st.instructions;
		guest_printf("regions_cwork: %s: native %llu cycles, emulated %llu (%llu instructions, %llu entries, "
			     "%llu exits, %llu stepped), checksum %s\n",
			     cworks[w].name, o[3 * w], o[3 * w + 1], o[3 * w + 2], now.entries - st.entries,
			     now.exits - st.exits, now.stepped - st.stepped, emu == nat[w] ? "same" : "DIFFERENT");
		bad += emu != nat[w];
		st = now;
	}
	rgn_remove(id);
	o[27] = st.entries - before.entries, o[28] = st.exits - before.exits;
	o[29] = st.stepped - before.stepped, o[30] = st.unsupported - before.unsupported, o[31] = bad;
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(o[29], 0);
	GEXPECT_EQ(o[30], 0);
	GEXPECT_EQ(o[28], o[27]);
	GEXPECT(o[27] >= CW_N);
}
