/* main.c: the interactive run ("make run"): show what this CPU's VMX offers, enter VMX, run
 * the guest kernel's scenario named by "scenario=NAME" on the command line (default "hello"),
 * print what it made the hypervisor do, leave VMX and power off. */
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

static void run_guest(const char *scenario)
{
	struct vm vm;
	if (vm_create(&vm, 32UL << 20) || vm_boot(&vm, scenario, 0)) {
		printf("hvlab: cannot start the guest (see above)\n");
		vm_destroy(&vm);
		return;
	}
	printf("hvlab: guest \"%s\": %lu MiB of RAM, EPT with %lu table pages, VPID %u\n", scenario,
	       vm.ram_size >> 20, vm.views[0].tables, vm.vpid);
	vm.check = count_check;
	vm_run(&vm);
	vm_print_stats(&vm);
	if (vm.stop == VM_STOP_EXIT)
		printf("hvlab: the guest exited with status %lu\n", vm.exit_status);
	if (checks_passed + checks_failed)
		printf("hvlab: the guest's own checks: %lu passed, %lu failed\n", checks_passed, checks_failed);
	vm_destroy(&vm);
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
	if (vmx_caps_probe(&vmx_caps)) {
		vmx_caps_print(&vmx_caps);
		printf("hvlab: VMX is not available: %s.\n", vmx_caps.no_vmx);
		printf("hvlab: nothing to virtualize; use BACKEND=bochs or a KVM host with nested VMX.\n");
		machine_exit(EXIT_SKIP);
	}
	vmx_caps_print(&vmx_caps);
	if (vmx_on()) {
		printf("hvlab: VMXON failed (see above)\n");
		machine_exit(EXIT_ERROR);
	}
	printf("hvlab: VMXON ok (VMCS revision 0x%x)\n", vmx_caps.revision_id);
	watchdog_setup(cmdline);
	if (vmx_caps.ept)
		run_guest(scenario);
	else
		printf("hvlab: this CPU has no EPT; the guest needs it\n");
	printf("hvlab: VMXOFF %s; powering off\n", vmx_off() == 0 ? "ok" : "FAILED");
	machine_exit(EXIT_PASS);
}
