/* bench_exits.c: benchmark suites (make bench; not part of tests=all). "bench_exits": the
 * cost of the two basic round trips, a CPUID exit and a VMCALL, measured in the guest with its TSC, and the VM
 * exits each operation causes, counted by the hypervisor (HC_GET_STATS around each loop). Under
 * Bochs the TSC is emulated time, not wall time; on a KVM host it is real. */
#include "suites.h"
#include "../vmm/vmcs.h"

static void round_trips(void)
{
	struct vm vm;
	EXPECT_EQ(run_scenario(&vm, "bench", 0), VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	u64 n = o[2];
	ASSERT_TRUE(n > 0);
	/* out[3], out[4]: exits during the CPUID loop and during the VMCALL loop. */
	EXPECT_EQ(o[3], n); /* exactly one exit per CPUID */
	EXPECT_EQ(o[4], n); /* and one per VMCALL */
	printf("# bench: cpuid_exit tsc_per_op=%llu exits_per_op=%llu.%03llu n=%lu\n", o[0] / n, o[3] / n,
	       (o[3] % n) * 1000 / n, n);
	printf("# bench: vmcall_round_trip tsc_per_op=%llu exits_per_op=%llu.%03llu n=%lu\n", o[1] / n, o[4] / n,
	       (o[4] % n) * 1000 / n, n);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_exits, vmm_setup, vmm_fini, KTAP_CASE(round_trips));

/* bench_views: 1000 view switches by VMFUNC and by hypercall; 1000 EPT violations delivered as
 * #VE and as VM exits (guest scenario "bench_views"). Hardware VMFUNC and #VE must cost no exit. */
static void views_and_violations(void)
{
	struct vm vm;
	EXPECT_EQ(run_scenario(&vm, "bench_views", 0), VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	u64 n = o[0];
	ASSERT_TRUE(n > 0);
	static const char *const what[] = {"view_switch_vmfunc", "view_switch_hypercall", "violation_as_ve",
					   "violation_as_exit"};
	for (int i = 0; i < 4; i++)
		printf("# bench: %s tsc_per_op=%llu exits_per_op=%llu.%03llu n=%lu\n", what[i], o[1 + 2 * i] / n,
		       o[2 + 2 * i] / n, (o[2 + 2 * i] % n) * 1000 / n, n);
	if (vmx_caps.eptp_switching)
		EXPECT_EQ(o[2], 0);
	if (vmx_caps.ept_violation_ve && vmx_caps.eptp_switching)
		EXPECT_EQ(o[6], 0);
	EXPECT(o[4] >= n && o[8] >= n); /* a hypercall and an EPT-violation exit cost one exit each */
	u64 per_view = 0;
	for (u32 v = 1; v < HV_VIEW_MAX; v++)
		if (vm.view_live[v])
			per_view = vm.views[v].tables * PAGE_SIZE;
	printf("# bench: ept_memory_per_view bytes=%lu guest_ram=%lu (view 1, after the splits)\n", per_view,
	       vm.ram_size);
	vm_destroy(&vm);
}

KTAP_SUITE(bench_views, vmm_setup, vmm_fini, KTAP_CASE(views_and_violations));
