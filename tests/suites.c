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
	&selftest_ktap_suite, /* runs only when named */
	&bench_exits_suite,   /* make bench; only when named */
	&bench_views_suite,
	&bench_regions_suite,
};
const int ktap_nsuites = ARRAY_SIZE(ktap_suites);

/* Runs before the plan: one diagnostic line that says what this CPU offers, after
 * "vmx_mask=" hid what it names. A bad mask ends the run with ERROR before any suite runs. */
void ktap_probe(void)
{
	const char *err = vmx_caps_init(&vmx_caps, boot_info.cmdline);
	vmx_caps_print(&vmx_caps);
	if (err) {
		printf("# %s\n1..0\n# result: ERROR\n", err);
		machine_exit(EXIT_ERROR);
	}
}

/* For suites that need VMX: the reason names what is missing (QEMU TCG has no VMX). */
const char *skip_unless_vmx(void) { return vmx_caps.vmx ? NULL : vmx_caps.no_vmx; }

const unsigned long long *scenario_ok(struct vm *vm, const char *name, u64 arg)
{
	EXPECT_EQ(run_scenario(vm, name, arg), VM_STOP_EXIT);
	EXPECT_EQ(vm->exit_status, 0);
	return vm_boot_info(vm)->out;
}

/* For suites that run a guest: VMX with EPT, and VMX on for the whole suite. */
const char *vmm_setup(void)
{
	if (!vmx_caps.vmx)
		return vmx_caps.no_vmx;
	if (!vmx_caps.ept)
		return "this CPU has no EPT (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1 is 0)";
	if (!vmx_is_on() && vmx_on())
		printf("# vmm_setup: VMXON failed; every case will fail\n");
	return NULL;
}

void vmm_fini(void)
{
	if (vmx_is_on())
		vmx_off();
}

static void guest_check(bool ok, const char *text) { kt_check_text(ok, text); }

/* A fresh VM booted into `scenario`; the guest's HC_CHECKs will count in the current case. */
int prepare_scenario(struct vm *vm, const char *scenario, u64 arg)
{
	if (vm_create(vm, TEST_GUEST_RAM)) {
		kt_error("cannot create a VM");
		return -1;
	}
	if (vm_boot(vm, scenario, arg)) {
		kt_error("cannot boot the guest module");
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

/* prepare + run. The VM is left for the caller to inspect and vm_destroy(). */
enum vm_stop run_scenario(struct vm *vm, const char *scenario, u64 arg)
{
	if (prepare_scenario(vm, scenario, arg))
		return VM_STOP_ENTRY_FAILED;
	return run_prepared(vm);
}
