/* bench_exits.c: benchmark suites (make bench; not part of tests=all). "bench_exits": the
 * cost of the two basic round trips, a CPUID exit and a VMCALL, measured in the guest with its TSC, and the VM
 * exits each operation causes, counted by the hypervisor (HC_GET_STATS around each loop). Under
 * Bochs the TSC is emulated time, not wall time; on a KVM host it is real. */
#include "suites.h"
#include "../vmm/vmcs.h"

/* One "# bench:" line: guest TSC and VM exits per operation, over n operations. */
static void per_op(const char *name, u64 tsc, u64 exits, u64 n)
{
	printf("# bench: %s tsc_per_op=%lu exits_per_op=%lu.%03lu n=%lu\n", name, tsc / n, exits / n,
	       (exits % n) * 1000 / n, n);
}

static void round_trips(void)
{
	struct vm vm;
	ASSERT_RUN(&vm, "bench", 0, VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	u64 n = o[2];
	ASSERT_TRUE(n > 0);
	/* out[3], out[4]: exits during the CPUID loop and during the VMCALL loop. */
	EXPECT_EQ(o[3], n); /* exactly one exit per CPUID */
	EXPECT_EQ(o[4], n); /* and one per VMCALL */
	per_op("cpuid_exit", o[0], o[3], n);
	per_op("vmcall_round_trip", o[1], o[4], n);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_exits, vmm_setup, vmm_fini, KTAP_CASE(round_trips));

/* bench_views: 1000 view switches by VMFUNC and by hypercall; 1000 EPT violations delivered as
 * #VE and as VM exits (guest scenario "bench_views"). Hardware VMFUNC and #VE must cost no exit. */
static void views_and_violations(void)
{
	struct vm vm;
	ASSERT_RUN(&vm, "bench_views", 0, VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	u64 n = o[0];
	ASSERT_TRUE(n > 0);
	static const char *const what[] = {"view_switch_vmfunc", "view_switch_hypercall", "violation_as_ve",
					   "violation_as_exit"};
	for (int i = 0; i < 4; i++)
		per_op(what[i], o[1 + 2 * i], o[2 + 2 * i], n);
	if (vmx_caps.eptp_switching)
		EXPECT_EQ(o[2], 0);
	if (vmx_caps.ept_violation_ve && vmx_caps.eptp_switching)
		EXPECT_EQ(o[6], 0);
	EXPECT(o[4] >= n && o[8] >= n); /* a hypercall and an EPT-violation exit cost one exit each */
	u64 per_view = 0;
	for (u32 v = 1; v < HV_VIEW_MAX; v++)
		if (vm.sh->view_live[v])
			per_view = vm.sh->views[v].tables * PAGE_SIZE;
	printf("# bench: ept_memory_per_view bytes=%lu guest_ram=%lu (view 1, after the splits)\n", per_view,
	       vm.ram_size);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_views, vmm_setup, vmm_fini, KTAP_CASE(views_and_violations));
