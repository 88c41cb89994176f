/* main.c: the interactive run ("make run"): show what this CPU's VMX offers (after "vmx_mask="
 * hid what it names), enter VMX, run the guest kernel's scenario named by "scenario=NAME" on
 * the command line (default "hello"), print what it made the hypervisor do, leave VMX and power
 * off with the run's status, which a "# result:" line repeats (tests/host/boot reads it under
 * Bochs): PASS only when the guest exited with HC_EXIT(0) and none of its checks failed. */
#include "vmm.h"

static u64 checks_passed, checks_failed;

/* HC_CHECK in an interactive run: counted, and a failure shown as it happens. */
static void count_check(bool ok, const char *text)
{
	if (ok)
		checks_passed++;
	else
		checks_failed++, printf("# guest check failed: %s\n", text);
}

static const char *result_name(u8 status)
{
	return status == EXIT_PASS ? "PASS" : status == EXIT_FAIL ? "FAIL" : status == EXIT_SKIP ? "SKIP" : "ERROR";
}

static void finish(u8 status)
{
	printf("# result: %s\n", result_name(status));
	machine_exit(status);
}

/* The run's status: EXIT_PASS, EXIT_FAIL (the guest failed) or EXIT_ERROR (it could not start). */
static u8 run_guest(const char *scenario)
{
	struct vm vm;
	if (vm_create(&vm, 32UL << 20) || vm_boot(&vm, scenario, 0)) {
		printf("hvlab: cannot start the guest (see above)\n");
		vm_destroy(&vm);
		return EXIT_ERROR;
	}
	printf("hvlab: guest \"%s\": %lu MiB of RAM, EPT with %lu table pages, VPID %u\n", scenario,
	       vm.ram_size >> 20, vm.sh->views[0].tables, vm.vpid);
	vm.check = count_check;
	vm_run(&vm);
	vm_print_stats(&vm);
	bool exited = vm.stop == VM_STOP_EXIT;
	if (exited)
		printf("hvlab: the guest exited with status %lu\n", vm.exit_status);
	else
		printf("hvlab: the guest did not exit by itself: %s\n", vm_stop_str(vm.stop));
	if (checks_passed + checks_failed)
		printf("hvlab: the guest's own checks: %lu passed, %lu failed\n", checks_passed, checks_failed);
	u8 status = exited && vm.exit_status == 0 && !checks_failed ? EXIT_PASS : EXIT_FAIL;
	vm_destroy(&vm);
	return status;
}

void vmm_main(const char *cmdline)
{
	char scenario[HV_SCENARIO_MAX];
	int len = cmdline_get(cmdline, "scenario", scenario, sizeof(scenario));
	printf("hvlab: hypervisor kernel, command line \"%s\"\n", cmdline);
	if (len >= (int)sizeof(scenario)) {
		printf("hvlab: scenario= is %d characters long; at most %lu fit\n", len, sizeof(scenario) - 1);
		machine_exit(EXIT_ERROR);
	}
	if (len < 0)
		snprintf(scenario, sizeof(scenario), "hello");
	printf("hvlab: %lu MiB of free memory\n", kalloc_free_count() * PAGE_SIZE >> 20);
	const char *bad_mask = vmx_caps_init(&vmx_caps, cmdline);
	vmx_caps_print(&vmx_caps);
	if (bad_mask) {
		printf("hvlab: %s\n", bad_mask);
		finish(EXIT_ERROR);
	}
	if (!vmx_caps.vmx) {
		printf("hvlab: VMX is not available: %s.\n", vmx_caps.no_vmx);
		printf("hvlab: nothing to virtualize; use BACKEND=bochs or a KVM host with nested VMX.\n");
		finish(EXIT_SKIP);
	}
	if (vmx_on()) {
		printf("hvlab: VMXON failed (see above)\n");
		finish(EXIT_ERROR);
	}
	printf("hvlab: VMXON ok (VMCS revision 0x%x)\n", vmx_caps.revision_id);
	watchdog_setup(cmdline);
	vmcs_dump_setup(cmdline);
	u8 status = EXIT_SKIP;
	char fuzz[2];
	if (vmx_caps.ept && cmdline_get(cmdline, "fuzz", fuzz, sizeof(fuzz)) >= 0)
		status = fuzz_main(cmdline); /* make fuzz (vmm/fuzz_main.c) */
	else if (vmx_caps.ept)
		status = run_guest(scenario);
	else
		printf("hvlab: this CPU has no EPT; the guest needs it\n");
	bool off = vmx_off() == 0;
	printf("hvlab: VMXOFF %s; powering off\n", off ? "ok" : "FAILED");
	finish(off ? status : EXIT_ERROR);
}
