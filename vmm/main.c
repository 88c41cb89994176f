/* main.c: the interactive run ("make run"): show what this CPU's VMX offers, enter and leave
 * VMX operation, and end the machine. Later issues grow this into the guest demonstration. */
#include "vmm.h"

void vmm_main(const char *cmdline)
{
	printf("hvlab: hypervisor kernel, command line \"%s\"\n", cmdline);
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
	printf("hvlab: VMXON ok (VMCS revision 0x%x); VMXOFF %s\n", vmx_caps.revision_id,
	       vmx_off() == 0 ? "ok" : "FAILED");
	printf("hvlab: done, powering off\n");
	machine_exit(EXIT_PASS);
}
