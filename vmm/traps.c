/* traps.c: access traps. A trap counts the accesses of its kinds (read, write, fetch) to one
 * guest-physical frame, through any page of any view that shows that frame, and lets each one
 * through: the policy layer takes the trapped rights out of every leaf of the frame, a violation
 * on it is counted and the instruction runs once in the interpreter (or, when the interpreter
 * cannot run it, single-stepped on the CPU with the rights back for one instruction). One hit
 * per instruction. docs/views.md, "Traps". */
#include "vmm.h"

/* A trap on the frame at addr: a guest-physical address, or a guest-linear one translated now
 * through the guest's page tables and the current view (a later change of that mapping is not
 * followed: the trap stays on the frame). */
s64 trap_add(struct vm *vm, u64 kind, u64 addr, u64 access)
{
	struct page_info pi;
	u64 gpa = addr;
	u32 t, pf;
	if (kind > HV_TRAP_GVA || access == 0 || (access & ~7UL))
		return -HV_EINVAL;
	if (kind == HV_TRAP_GVA && vm_gva_to_gpa(vm, addr, 0, &gpa, &pf))
		return -HV_EFAULT;
	if (!policy_lookup(vm, kind == HV_TRAP_GVA ? view_current(vm) : 0, gpa, &pi))
		return -HV_EFAULT;
	if (kind == HV_TRAP_GPA)
		pi.frame = ALIGN_DOWN(gpa, PAGE_SIZE); /* a guest-physical address names its own frame */
	if (vm->sh->pol.trap[pi.frame / PAGE_SIZE] || vm->sh->pol.region[pi.frame / PAGE_SIZE])
		return -HV_EBUSY; /* one monitor per frame */
	for (t = 0; t < HV_TRAP_MAX && vm->sh->pol.traps[t].live; t++)
		;
	if (t == HV_TRAP_MAX)
		return -HV_ENOSPC;
	vm->sh->pol.traps[t] = (struct trap){.live = true, .frame = pi.frame, .access = access};
	if (policy_set_trap(vm, pi.frame, t + 1)) {
		vm->sh->pol.traps[t].live = false;
		return -HV_ENOSPC;
	}
	return t;
}

s64 trap_remove(struct vm *vm, u64 t)
{
	if (t >= HV_TRAP_MAX || !vm->sh->pol.traps[t].live)
		return -HV_EINVAL;
	policy_set_trap(vm, vm->sh->pol.traps[t].frame, 0); /* its leaves are 4 KiB already: cannot fail */
	vm->sh->pol.traps[t].live = false;
	return 0;
}

s64 trap_hits(struct vm *vm, u64 t)
{
	if (t >= HV_TRAP_MAX || !vm->sh->pol.traps[t].live)
		return -HV_EINVAL;
	return vm->sh->pol.traps[t].hits;
}
