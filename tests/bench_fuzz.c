/* bench_fuzz.c: benchmark suite "bench_fuzz" (make bench-fuzz; not part of tests=all). Per
 * dirty-tracking method this CPU has: target "pages" writing 30 pages per execution (the
 * Hypervisor-101 anchor's 30 dirty pages), 300 executions: TSC per execution, VM exits per
 * execution, and the restore's TSC per execution and per dirty page (harvest, page copies,
 * state, re-arm, INVEPT); then a 2,000-execution campaign on "tlv" with coverage. Under Bochs
 * the TSC is emulated time (instructions at the model's rate), not wall time. */
#include "suites.h"
#include "../vmm/fuzz.h"
#include "../kernel/x86.h"

#define N 300

static void one_method(u32 m)
{
	struct vm vm;
	char name[24];
	const char *why = dirty_unsupported(m);
	if (why) {
		printf("# bench: fuzz_%s unsupported: %s\n", fuzz_dirty_name(m), why);
		return;
	}
	if (prepare_scenario(&vm, "fuzz:pages", 0))
		return;
	if ((why = fuzz_attach(&vm, m, 1, tsc_hz())) || (why = fuzz_start(&vm))) {
		kt_error("%s", why);
		fuzz_detach(&vm);
		vm_destroy(&vm);
		return;
	}
	u8 in[8] = {30, 1, 2, 3, 4, 5, 6, 7};
	fuzz_one(&vm, in, sizeof(in)); /* warm */
	struct fuzz *fz = vm.fuzz;
	u64 e0 = fz->exits_total, d0 = fz->dirty_total, r0 = fz->restore_tsc, t0 = rdtsc();
	for (int i = 0; i < N; i++)
		EXPECT_EQ(fuzz_one(&vm, in, sizeof(in)).outcome, FUZZ_OK);
	u64 t = rdtsc() - t0, exits = fz->exits_total - e0, dirty = fz->dirty_total - d0, rt = fz->restore_tsc - r0;
	snprintf(name, sizeof(name), "fuzz_%s", fuzz_dirty_name(m));
	printf("# bench: %s tsc_per_exec=%lu exec_per_s=%lu exits_per_exec=%lu.%02lu dirty_per_exec=%lu "
	       "restore_tsc_per_exec=%lu restore_tsc_per_page=%lu n=%u\n", name, t / N, tsc_hz() / (t / N ? t / N : 1),
	       exits / N, exits * 100 / N % 100, dirty / N, rt / N, dirty ? rt / dirty : 0, N);
	fuzz_detach(&vm);
	vm_destroy(&vm);
}

static void methods(void)
{
	for (u32 m = 0; m < FUZZ_DIRTY_N; m++)
		one_method(m);
}

static void campaign_tlv(void)
{
	static struct fuzz_campaign c;
	struct vm vm;
	const char *why;
	if (prepare_scenario(&vm, "fuzz:tlv", 0))
		return;
	u32 m = dirty_unsupported(FUZZ_DIRTY_PML) ? FUZZ_DIRTY_WP : FUZZ_DIRTY_PML;
	if ((why = fuzz_attach(&vm, m, 1, tsc_hz() / 10)) || (why = cover_attach(&vm)) || (why = fuzz_start(&vm))) {
		kt_error("%s", why);
	} else {
		memset(&c, 0, sizeof(c));
		c.max_execs = 2000;
		fuzz_campaign_run(&vm, &c);
		EXPECT_EQ(c.execs, 2000);
		printf("# bench: fuzz_campaign_tlv_%s exec_per_s=%lu exits_per_exec=%lu.%02lu corpus=%lu crashes=%lu\n",
		       fuzz_dirty_name(m), c.execs * tsc_hz() / (c.tsc ? c.tsc : 1), c.exits / c.execs,
		       c.exits * 100 / c.execs % 100, c.corpus, c.crashes);
	}
	fuzz_detach(&vm);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_fuzz, vmm_setup, vmm_fini, KTAP_CASE(methods), KTAP_CASE(campaign_tlv));
