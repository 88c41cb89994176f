/* test_gfuzz.c: suite "guest_fuzz": the guest's random-program fuzzer (guest/scen_gfuzz.c), one
 * case per seed. The guest checks each operation against its model; this side checks what only
 * the hypervisor knows, at every checkpoint of the run (the guest pauses with
 * HC_EXIT(GF_CHECKPOINT) every CKPT_EVERY x 100 operations and is resumed) and at its end,
 * before the VM is destroyed: every leaf of every view equals what the policy computes
 * (policy_check), no single step open, not inside a region, and the live views, traps, regions,
 * the current view and the #VE page the guest believes in are the hypervisor's; after
 * vm_destroy, every page is back. The seeds are this CPU's (default_seed) and the next two.
 * Words on the command line (docs/testing.md): fuzz_seed=N (the cases run N, N+1, N+2), fuzz_ops=N per case, fuzz_log=1 (the first case prints every
 * operation), fuzz_repro=N or N-M (the first case runs those reproducers), fuzz_all=1 (no
 * steering around the known findings). */
#include "suites.h"
#include "../kernel/x86.h"

#define GF_CHECKPOINT 0x67667a00UL /* guest/gfuzz.h */
#define DEFAULT_OPS 1700
#define CKPT_EVERY 5     /* x 100 operations */
#define MAX_SEGMENTS 700 /* 65535 operations / 100: a guest that pauses more often is broken */

static const char *const kinds[] = {"hypercall", "hypercall-code", "vmfunc", "vmfunc-code", "load", "store",
				    "mem-code", "bad-address", "code", "patch", "exception", "int", "tf"};

/* The first default seed: this CPU's signature (CPUID.1:EAX), with a bit for each of VMFUNC and
 * #VE it lacks, so that each row of the matrix fuzzes its own sequences (a profile that masks a
 * feature too) and each replays them. */
static u64 default_seed(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	return a ^ (vmx_caps.eptp_switching ? 0 : BIT(28)) ^ (vmx_caps.ept_violation_ve ? 0 : BIT(29));
}

/* A fuzz_* word of the command line: absent, dflt; longer than fits, the case's ERROR. */
static u64 cmdline_u64(const char *key, u64 dflt)
{
	char v[24];
	int n = cmdline_get(boot_info.cmdline, key, v, sizeof(v));
	if (n >= (int)sizeof(v))
		kt_error("%s= is %d characters long; at most %lu fit", key, n, sizeof(v) - 1);
	return n < 0 || n >= (int)sizeof(v) ? dflt : strtou64(v, NULL, 0);
}

/* The hypervisor's invariants, and its state against the guest's model (out[16..18], 28, 29). */
static bool invariants(struct vm *vm, const char *when)
{
	const unsigned long long *o = vm_boot_info(vm)->out;
	u64 bad = policy_check(vm, true), views = 0, traps = 0, rgns = 0;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		views |= vm->sh->view_live[v] ? BIT(v) : 0;
	for (u32 t = 0; t < HV_TRAP_MAX; t++)
		traps |= vm->sh->pol.traps[t].live ? BIT(t) : 0;
	for (u32 r = 0; r < HV_REGION_MAX; r++)
		rgns |= vm->sh->regions[r].live ? BIT(r) : 0;
	u32 view = view_current(vm);
	bool ok = bad == 0 && !vm->step.open && vm->in_region == 0 && views == o[16] && traps == o[17] && rgns == o[18] &&
		  view == o[28] && vm->ve_gpa == o[29];
	if (!ok)
		kt_diag("%s after %llu operations: %lu leaves differ from the policy, step %s, in region %u; live views 0x%lx "
			"(guest 0x%llx), traps 0x%lx (0x%llx), regions 0x%lx (0x%llx), view %u (%llu), #VE page 0x%lx (0x%llx)",
			when, o[0], bad, vm->step.open ? "open" : "closed", vm->in_region, views, o[16], traps, o[17], rgns,
			o[18], view, o[28], vm->ve_gpa, o[29]);
	return ok;
}

static void print_counts(const unsigned long long *o, u64 seed, u64 checks, u64 ms)
{
	kt_diag("seed %lu: %llu operations, %llu failures, %lu invariant checks, %lu ms", seed, o[0], o[1], checks, ms);
	if (o[19])
		kt_diag("the first failure: operation %llu (%s); replay with fuzz_seed=%lu fuzz_ops=%llu fuzz_log=1", o[19] - 1,
			kinds[o[20] % ARRAY_SIZE(kinds)], seed, o[19]);
	kt_diag("hypercalls %llu ok, %llu refused; exceptions caught %llu; #VE %llu, #DB %llu, #BP %llu, INT %llu; "
		"%llu at CPL 3, %llu in regions; VMFUNC %llu, #UD %llu; %llu loads checked; %llu policy moves; %llu "
		"steered around known findings",
		o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11], o[12], o[13], o[14], o[30]);
	char line[200];
	int n = 0;
	for (u32 k = 0; k < ARRAY_SIZE(kinds); k++)
		n += snprintf(line + n, sizeof(line) - n, " %s %llu", kinds[k], (o[24 + k / 4] >> (16 * (k % 4))) & 0xffff);
	kt_diag("by kind:%s", line);
}

/* One run: to the end, checking the invariants at every checkpoint. */
static void fuzz_run(u64 seed, u64 repro)
{
	u64 ops = repro ? 1 : cmdline_u64("fuzz_ops", DEFAULT_OPS);
	u64 arg = (seed & 0xffffffffUL) | (ops & 0xffff) << 32 | (u64)CKPT_EVERY << 48 | (repro & 0x3f) << 56 |
		  (cmdline_u64("fuzz_all", 0) ? BIT(62) : 0) | (cmdline_u64("fuzz_log", 0) && seed == cmdline_u64("fuzz_seed", default_seed()) ? BIT(63) : 0);
	u64 before = kalloc_free_count(), checks = 0, bad = 0;
	struct vm vm;
	enum vm_stop stop;
	if (prepare_scenario(&vm, "guest_fuzz", arg)) /* it reported the ERROR */
		return;
	vm.quiet = true; /* thousands of refusals are expected; the guest checks each one */
	u64 t0 = rdtsc();
	while ((stop = vm_run(&vm)) == VM_STOP_EXIT && vm.exit_status == GF_CHECKPOINT && checks < MAX_SEGMENTS)
		bad += !invariants(&vm, "checkpoint"), checks++;
	u64 ms = (rdtsc() - t0) / (tsc_hz() / 1000);
	vm_print_stats(&vm);
	EXPECT_EQ(stop, VM_STOP_EXIT);
	EXPECT_EQ(vm.exit_status, 0);
	bad += !invariants(&vm, "end"), checks++;
	EXPECT_EQ(bad, 0);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	EXPECT(o[0] >= ops || repro);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[15], seed & 0xffffffffUL);
	print_counts(o, seed, checks, ms);
	vm_destroy(&vm);
	EXPECT_EQ(kalloc_free_count(), before);
}

/* fuzz_repro=N or N-M: the first case runs those reproducers instead of its seed. */
static void fuzz_seed(u64 idx)
{
	char v[24];
	const char *end;
	u64 seed = cmdline_u64("fuzz_seed", default_seed()) + idx;
	if (idx || cmdline_get(boot_info.cmdline, "fuzz_repro", v, sizeof(v)) < 0)
		return fuzz_run(seed, 0);
	u64 first = strtou64(v, &end, 10), last = *end == '-' ? strtou64(end + 1, NULL, 10) : first;
	for (u64 r = first; r <= last && r < 64; r++) {
		kt_diag("reproducer %lu", r);
		fuzz_run(seed, r);
	}
}

static void seed_0(void) { fuzz_seed(0); }
static void seed_1(void) { fuzz_seed(1); }
static void seed_2(void) { fuzz_seed(2); }

KTAP_SUITE(guest_fuzz, vmm_setup, vmm_fini, KTAP_CASE(seed_0), KTAP_CASE(seed_1), KTAP_CASE(seed_2));
