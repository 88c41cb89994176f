/* suites.c: the table of in-VM suites and the capability probe every run prints first. */
#include "suites.h"
#include "../vmm/vmm.h"

const struct ktap_suite *const ktap_suites[] = {
	&boot_suite,
	&vmx_caps_suite,
	&vmxon_suite,
	&guest_boot_suite,
	&exit_cpuid_suite,
	&exit_vmcall_suite,
	&exit_io_suite,
	&exit_msr_suite,
	&exit_cr_suite,
	&exit_vmx_insns_suite,
	&exit_xsetbv_suite,
	&exit_other_suite,
	&triple_fault_suite,
	&ept_identity_suite,
	&ept_split_suite,
	&user_mode_suite,
	&hypercall_fuzz_suite,
	&views_suite,
	&ept_access_suite,
	&vmfunc_suite,
	&ve_suite,
	&traps_suite,
	&emulated_regions_suite,
	&emulated_regions_guest_suite,
	&hostile_suite,
	&guest_page_walk_suite,
	&guest_fuzz_suite,
	&fuzz_suite,
	&smp_suite,
	&shootdown_suite,
	&shootdown_stress_suite,
	&guest_interrupts_suite,
	&selftest_ktap_suite, COV_SELFTEST_SUITE /* runs only when named */
	&selftest_crash_suite, /* end the run on purpose: one per boot, only when named */
	&selftest_panic_suite,
	&bench_exits_suite,   /* make bench; only when named */
	&bench_views_suite,
	&bench_regions_suite,
	&bench_fuzz_suite,
	&bench_smp_suite,
};
const int ktap_nsuites = ARRAY_SIZE(ktap_suites);

static u64 free_at_start; /* bytes the page allocator had before the first suite */

/* Runs before the plan: diagnostic lines that say what this CPU offers (after "vmx_mask=" hid
 * what it names; a bad mask ends the run with ERROR before any suite runs) and the memory free. */
void ktap_probe(void)
{
	free_at_start = kalloc_free_count() * PAGE_SIZE;
	const char *err = vmx_caps_init(&vmx_caps, boot_info.cmdline);
	vmx_caps_print(&vmx_caps);
	if (err) {
		printf("# %s\n1..0\n# result: ERROR\n", err);
		machine_exit(EXIT_ERROR);
	}
	printf("# memory: %lu MiB free", kalloc_free_count() * PAGE_SIZE >> 20);
	if (kalloc_ram_ignored())
		printf(", %lu MiB above 4 GiB not used", kalloc_ram_ignored() >> 20);
	printf("\n");
}

/* For suites that need VMX: the reason names what is missing (QEMU TCG has no VMX). */
const char *skip_unless_vmx(void) { return vmx_caps.vmx ? NULL : vmx_caps.no_vmx; }

/* NULL when the VM could not be prepared (ASSERT_SCENARIO_OK ends the case then). */
const unsigned long long *scenario_ok(struct vm *vm, const char *name, u64 arg)
{
	if (prepare_scenario(vm, name, arg))
		return NULL;
	EXPECT_EQ(run_prepared(vm), VM_STOP_EXIT);
	EXPECT_EQ(vm->exit_status, 0);
	return vm_boot_info(vm)->out;
}

/* For suites that run a guest: VMX with EPT, a machine with room for a test VM, and VMX on
 * for the whole suite. The room is judged on the memory free before the first suite: a suite
 * that finds less later (a leak) gets an ERROR from prepare_scenario, not a SKIP. */
const char *vmm_setup(void)
{
	static char why[160];
	if (!vmx_caps.vmx)
		return vmx_caps.no_vmx;
	if (!vmx_caps.ept)
		return "this CPU has no EPT (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1 is 0)";
	if (free_at_start < TEST_VM_NEEDS) {
		snprintf(why, sizeof(why), "this machine has %lu MiB of free memory; a test VM needs %lu MiB",
			 free_at_start >> 20, TEST_VM_NEEDS >> 20);
		return why;
	}
	if (!vmx_is_on() && vmx_on())
		printf("# vmm_setup: VMXON failed; every case will fail\n");
	if (!watchdog_default_tsc) {
		watchdog_setup(boot_info.cmdline);
		vmcs_dump_setup(boot_info.cmdline);
	}
	return NULL;
}

void vmm_fini(void)
{
	if (vmx_is_on())
		vmx_off();
}

static void guest_check(bool ok, const char *text) { kt_check_text(ok, text); }

/* vm_create with TEST_GUEST_RAM; a failure is the case's ERROR, with the memory free. *vm is
 * all zeroes then (vm_create's contract): the case must not go on with it. */
int test_vm_create(struct vm *vm)
{
	if (vm_create(vm, TEST_GUEST_RAM) == 0)
		return 0;
	kt_error("cannot create a VM: %lu MiB free, a test VM needs %lu MiB (VMX %s)",
		 kalloc_free_count() * PAGE_SIZE >> 20, TEST_VM_NEEDS >> 20, vmx_is_on() ? "on" : "off");
	return -1;
}

/* A fresh VM booted into `scenario`; the guest's HC_CHECKs will count in the current case.
 * On failure (an ERROR of the case) *vm is all zeroes and nothing else is to be done with it. */
int prepare_scenario(struct vm *vm, const char *scenario, u64 arg)
{
	if (test_vm_create(vm))
		return -1;
	if (vm_boot(vm, scenario, arg)) {
		kt_error("cannot boot the guest module");
		vm_destroy(vm);
		return -1;
	}
	vm->check = guest_check;
	vm->console_prefix = "    # [guest] "; /* a KTAP diagnostic */
	return 0;
}

enum vm_stop run_prepared(struct vm *vm)
{
	vm_run(vm);
	vm_print_stats(vm);
	return vm->stop;
}


