/* test_gintr.c: suite "guest_interrupts" (docs/smp.md): the per-vCPU virtual timer (periodic
 * interrupts counted; one held while IF = 0 and taken right after STI; HLT woken by it), HLT
 * with IF = 0 stopped, a guest IPI waking another vCPU's HLT, refused arguments. The guest
 * scenarios are in guest/scen_gintr.c; here what only the hypervisor sees: injections,
 * interrupt-window exits, exits per interrupt. */
#include "suites.h"
#include "../vmm/vmcs.h"

static void timer_periodic_counted(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_timer", 0);
	if (!EXPECT(o[0] >= 10)) {
		vm_destroy(&vm);
		return;
	}
	EXPECT(vm.intr_injected >= o[0]);
	EXPECT(vm.vt_fired >= o[0]);
	EXPECT(vm.hlt_waits >= 1);
	u64 ms = o[1] * 1000 / tsc_hz();
	EXPECT(ms >= 8 && ms <= 40); /* 10 periods of 1 ms */
	kt_diag("%llu interrupts in %lu ms; %llu exits in the guest's loop (%llu.%02llu per interrupt), %lu HLT waits",
		o[0], ms, o[2], o[2] / o[0], o[2] * 100 / o[0] % 100, vm.hlt_waits);
	vm_destroy(&vm);
}

static void held_while_if0_taken_after_sti(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_held", 0);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 1);
	EXPECT_EQ(vm.intr_injected, 1);
	kt_diag("%lu interrupt-window exits", vm.intr_window_exits);
	vm_destroy(&vm);
}

static void hlt_woken_by_timer(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_hlt_timer", 0);
	EXPECT_EQ(o[0], 1);
	EXPECT(o[1] >= us_to_tsc(2000));
	EXPECT_EQ(vm.hlt_waits, 1);
	vm_destroy(&vm);
}

static void hlt_with_if0_stops(void)
{
	struct vm vm;
	ASSERT_RUN(&vm, "gi_hlt_stop", 0, VM_STOP_HLT);
	vm_destroy(&vm);
}

static void ipi_wakes_halted_vcpu(void)
{
	struct vm vm;
	if (smp_ncpus < 2)
		SKIP("this machine has one CPU (Bochs: cpu: count=2)");
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_ipi", 0);
	struct vm *v1 = smp_vcpu(&vm, 1);
	ASSERT_TRUE(v1 != NULL);
	EXPECT_EQ(o[0], HV_VCPU_STOPPED | (VM_STOP_EXIT << 8));
	EXPECT_EQ(v1->exit_status, 0);
	EXPECT_EQ(o[1], 1);
	EXPECT(v1->hlt_waits >= 1);
	EXPECT_EQ(vm.ipis_sent, 1);
	vm_destroy(&vm);
}

static void bad_arguments_refused(void)
{
	struct vm vm;
	if (prepare_scenario(&vm, "gi_bad", 0))
		return;
	vm.quiet = true;
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT);
	EXPECT_EQ(vm.exit_status, 0);
	EXPECT_EQ(vm.stats.hypercall_errors, 7);
	vm_destroy(&vm);
}

/* A region interrupted by the timer: the interpreter yields at instruction boundaries, the
 * guest's handler runs on the CPU, the region resumes (one more entry per interrupt taken in
 * it) and ends with fib(12) = 144, as natively. */
static void region_interrupted_keeps_native_result(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_region", 0);
	EXPECT_EQ(o[0], 144);
	EXPECT_EQ(o[1], 144);
	EXPECT(o[2] >= 1);
	EXPECT(o[3] >= 2); /* entered again after an interrupt */
	kt_diag("%llu timer interrupts during the region, %llu entries, %llu instructions emulated", o[2], o[3], o[4]);
	vm_destroy(&vm);
}

/* One vCPU executes inside an emulated region (its own interpreter) while vCPU 0 runs on the
 * CPU: the result is the native one, and only vCPU 1 entered the region. */
static void region_on_one_vcpu_others_native(void)
{
	struct vm vm;
	if (smp_ncpus < 2)
		SKIP("this machine has one CPU (Bochs: cpu: count=2)");
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "gi_region_smp", 0);
	struct vm *v1 = smp_vcpu(&vm, 1);
	ASSERT_TRUE(v1 != NULL);
	EXPECT_EQ(o[0], 377);
	EXPECT_EQ(o[1], 377);
	EXPECT(o[2] > 0);
	EXPECT(v1->region_entries >= 1);
	EXPECT(v1->emu != NULL && v1->emu != vm.emu);
	EXPECT_EQ(vm.region_entries, 0);
	kt_diag("vCPU 1: %lu region entries; vCPU 0 looped %llu times meanwhile", v1->region_entries, o[2]);
	vm_destroy(&vm);
}

KTAP_SUITE(guest_interrupts, vmm_setup, vmm_fini, KTAP_CASE(timer_periodic_counted),
	   KTAP_CASE(held_while_if0_taken_after_sti), KTAP_CASE(hlt_woken_by_timer), KTAP_CASE(hlt_with_if0_stops),
	   KTAP_CASE(ipi_wakes_halted_vcpu), KTAP_CASE(bad_arguments_refused),
	   KTAP_CASE(region_interrupted_keeps_native_result), KTAP_CASE(region_on_one_vcpu_others_native));
