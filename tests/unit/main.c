/* main.c: host unit tests of the hypervisor logic that needs no VMX: EPT builder, capability
 * decoding and control-bit adjustment, multiboot2 parsing, guest page walks, the VM-entry
 * checks in software. The few kernel services that code
 * calls (page allocation, rdmsr_safe) are stubbed here. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "../../kernel/types.h"

int unit_pass, unit_fail;
long unit_pages_live; /* pages handed out by the stub allocator and not yet freed */
int unit_alloc_fail_after = -1; /* >= 0: that many more allocations succeed, then NULL */

void *kalloc_page(void)
{
	if (unit_alloc_fail_after == 0)
		return NULL;
	if (unit_alloc_fail_after > 0)
		unit_alloc_fail_after--;
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	unit_pages_live++;
	return p;
}

/* vmm/vmcs_check.c's reader of physical memory catches faults in the VM; the host tests give
 * the checker their own reader and never call that one. */
struct fault_info;
int trap_catch(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	(void)fn;
	(void)arg;
	(void)fi;
	return 14;
}

int kfree_page(void *p)
{
	free(p);
	unit_pages_live--;
	return 0;
}

int rdmsr_safe(unsigned int msr, u64 *val)
{
	(void)msr, (void)val;
	return -1;
}

/* vmcs_check() reads the current VMCS; the unit tests call vmcs_check_fields() with a table. */
u64 vmcs_read(u64 field)
{
	(void)field;
	return 0;
}

int main(void)
{
	unit_ept();
	unit_caps();
	unit_mb2();
	unit_gwalk();
	unit_vmcs_check();
	printf("unit: %d passed, %d failed\n", unit_pass, unit_fail);
	return unit_fail != 0;
}
