/* bench_smp.c: benchmark suite "bench_smp" (make bench; not part of tests=all): the cost of one
 * EPT change with its shootdown for 1..N CPUs running the VM (the smp_stress scenario with 0..N-1
 * readers), the host's IPI round trip (smp_call: post, fixed IPI, the AP runs it, the BSP sees
 * it done), the guest's IPI round trip between two vCPUs, and the NMI shootdown round trip alone, and the exits and cost per delivered guest
 * timer interrupt (busy guest and HLT guest). Under Bochs the TSC is emulated time. */
#include "suites.h"
#include "../kernel/x86.h"

static void nothing(void *arg) { (void)arg; }

static void ept_change_shootdown(void)
{
	for (u32 readers = 0; readers < smp_ncpus; readers++) {
		struct vm vm;
		const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_stress", readers);
		EXPECT_EQ(o[0], 0);
		const struct vm_smp_stats *st = smp_vm_stats(&vm);
		printf("# bench: ept_change_shootdown cpus=%u tsc_per_op=%llu shootdowns=%lu n=10000\n", readers + 1,
		       o[1] / 10000, st ? st->shootdowns : 0);
		vm_destroy(&vm);
	}
}

static void ipi_round_trip(void)
{
	if (smp_ncpus < 2)
		SKIP("this machine has one CPU");
	u64 n = 1000, t0 = rdtsc();
	for (u64 i = 0; i < n; i++) {
		ASSERT_EQ(smp_call(1, nothing, NULL), 0);
		ASSERT_EQ(smp_call_wait(1, 100000), 0);
	}
	u64 t = rdtsc() - t0;
	EXPECT(t > 0);
	printf("# bench: ipi_round_trip tsc_per_op=%lu n=%lu (smp_call to CPU 1 and back)\n", t / n, n);
}

/* The guest's own IPI round trip: HC_VCPU_IPI to vCPU 1, whose handler makes it send one back. */
static void guest_ipi_round_trip(void)
{
	if (smp_ncpus < 2)
		SKIP("this machine has one CPU");
	struct vm vm;
	const u64 n = 200;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_ping", n);
	EXPECT_EQ(o[0], n);
	if (o[0])
		printf("# bench: guest_ipi_round_trip tsc_per_op=%llu vcpu0_exits_per_op=%llu.%02llu n=%llu "
		       "(HC_VCPU_IPI to vCPU 1, its handler's IPI back)\n", o[1] / o[0], o[2] / o[0], o[2] * 100 / o[0] % 100, o[0]);
	vm_destroy(&vm);
}

static void timer_interrupt_cost(void)
{
	for (u64 busy = 0; busy < 2; busy++) {
		struct vm vm;
		const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_timer", busy);
		ASSERT_TRUE(o[0] > 0);
		printf("# bench: guest_timer_%s exits_per_interrupt=%llu.%02llu injected=%lu window_exits=%lu "
		       "interrupts=%llu\n", busy ? "busy" : "hlt", o[2] / o[0], o[2] * 100 / o[0] % 100,
		       vm.intr_injected, vm.intr_window_exits, o[0]);
		vm_destroy(&vm);
	}
}

KTAP_SUITE(bench_smp, vmm_setup, smp_vmx_off_all, KTAP_CASE(ept_change_shootdown), KTAP_CASE(ipi_round_trip), KTAP_CASE(guest_ipi_round_trip),
	   KTAP_CASE(timer_interrupt_cost));
