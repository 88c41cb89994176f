/* bench_regions.c: benchmark suite "bench_regions" (make bench; not part of tests=all): the
 * workloads of the guest scenario "regions_same" natively and as emulated regions: guest TSC
 * both ways (under Bochs the TSC is emulated time), instructions emulated, instructions per VM
 * exit, exits per region entry (the goal: exactly 1, one exit in and none out); and the
 * random sequences of "regions_diff" (TSC per sequence). */
#include "suites.h"

static void native_vs_emulated(void)
{
	static const char *const names[] = {"checksum", "fib", "strings", "callout", "user"};
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_same", 0);
	ASSERT_EQ(o[31], ARRAY_SIZE(names));
	for (u32 w = 0; w < ARRAY_SIZE(names); w++) {
		const unsigned long long *r = &o[6 * w];
		u64 nat = r[0] ? r[0] : 1, exits = r[4] ? r[4] : 1, entries = r[3] ? r[3] : 1;
		u64 slow100 = r[1] * 100 / nat, epe1000 = r[4] * 1000 / entries;
		printf("# bench: region_%s native_tsc=%llu emulated_tsc=%llu slowdown=%lu.%02lu insns=%llu "
		       "insns_per_exit=%llu exits_per_entry=%lu.%03lu\n",
		       names[w], r[0], r[1], slow100 / 100, slow100 % 100, r[2], r[2] / exits, epe1000 / 1000,
		       epe1000 % 1000);
		EXPECT_EQ(r[4], r[3]); /* the goal: one exit per entry */
	}
	vm_destroy(&vm);
	/* The differential test's short random sequences: entry cost dominates. */
	o = ASSERT_SCENARIO_OK(&vm, "regions_diff", 0);
	u64 n = o[0] ? o[0] : 1, nat = o[6] ? o[6] : 1, slow100 = o[7] * 100 / nat;
	printf("# bench: region_random native_tsc=%llu emulated_tsc=%llu slowdown=%lu.%02lu insns=%llu "
	       "insns_per_exit=%llu exits_per_entry=%llu.%03llu sequences=%llu\n",
	       o[6] / n, o[7] / n, slow100 / 100, slow100 % 100, o[3], o[3] / (o[5] ? o[5] : 1), o[5] / n,
	       (o[5] % n) * 1000 / n, o[0]);
	EXPECT_EQ(o[5], o[4]);
	vm_destroy(&vm);
}

/* Compiled C (the guest's rgn_cwork.c: plain -O2, SSE as the compiler chooses) as one emulated
 * region: per workload guest TSC natively and emulated and instructions emulated; over all of
 * them entries, exits, stepped and unsupported instructions. The goal: all emulated (0 stepped),
 * one exit per entry. */
static void compiled_c(void)
{
	static const char *const names[] = {"hash", "sort", "table", "vm", "lz77", "tokens", "bigint", "crc", "queens"};
	struct vm vm;
	const unsigned long long *o = scenario_ok(&vm, "regions_cwork", 0);
	for (u32 w = 0; w < ARRAY_SIZE(names); w++) {
		u64 nat = o[3 * w] ? o[3 * w] : 1, slow100 = o[3 * w + 1] * 100 / nat;
		printf("# bench: region_c_%s native_tsc=%llu emulated_tsc=%llu slowdown=%lu.%02lu insns=%llu\n", names[w],
		       o[3 * w], o[3 * w + 1], slow100 / 100, slow100 % 100, o[3 * w + 2]);
	}
	u64 entries = o[27] ? o[27] : 1, epe1000 = o[28] * 1000 / entries;
	printf("# bench: region_c_all entries=%llu exits=%llu exits_per_entry=%lu.%03lu stepped=%llu unsupported=%llu "
	       "checksum_mismatches=%llu\n", o[27], o[28], epe1000 / 1000, epe1000 % 1000, o[29], o[30], o[31]);
	EXPECT_EQ(o[28], o[27]); /* one exit per entry */
	EXPECT_EQ(o[29], 0);     /* nothing stepped on the CPU */
	EXPECT_EQ(o[30], 0);
	EXPECT_EQ(o[31], 0);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_regions, vmm_setup, vmm_fini, KTAP_CASE(native_vs_emulated), KTAP_CASE(compiled_c));
