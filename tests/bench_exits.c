/* bench_exits.c: suite "bench_exits" (make bench; not part of tests=all): the cost of the two
 * basic round trips, a CPUID exit and a VMCALL, measured in the guest with its TSC, and the VM
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
