/* views.c: EPT views, the hypercalls that make and change them, and VMFUNC emulated on #UD.
 * Each view is a full EPT hierarchy over the same guest RAM with its own rights; the vCPU runs
 * in one at a time and changes view by hypercall, by hardware VMFUNC (leaf 0, EPTP switching,
 * through the EPTP list) or by VMFUNC emulated here where the CPU lacks it. What a view's
 * leaves hold is the policy layer's business (policy.c): this file checks the guest's input
 * and asks it. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

bool view_valid(const struct vm *vm, u64 v) { return v < HV_VIEW_MAX && vm->sh->view_live[v]; }

/* A new view maps all of guest RAM RWX with #VE suppressed, as view 0 did at boot; the frames'
 * traps and regions apply to it too (policy_view_init). Returns the index or -errno. */
s64 view_create(struct vm *vm)
{
	u32 v = 0;
	while (v < HV_VIEW_MAX && vm->sh->view_live[v])
		v++;
	if (v == HV_VIEW_MAX)
		return -HV_ENOSPC;
	if (policy_view_init(vm, v))
		return -HV_ENOSPC;
	vm->sh->view_live[v] = true;
	vm->sh->view_policy[v] = HV_POLICY_STOP;
	/* EXERCISE(07): make the view reachable by VMFUNC: its EPTP in entry v of the EPTP list
	 * (docs/exercises/07-views.md). */
	vm->sh->eptp_list[v] = ept_eptp(&vm->sh->views[v]);
	/* END EXERCISE(07) */
	return v;
}

s64 view_destroy(struct vm *vm, u64 v)
{
	if (v == 0 || !view_valid(vm, v))
		return -HV_EINVAL;
	if (v == view_current(vm) || (vm->step.open && vm->step.view == v) || smp_others_running(vm))
		return -HV_EBUSY;
	for (u32 o = 0; o < HV_VIEW_MAX; o++) /* another view's policy switches to it */
		if (vm->sh->view_live[o] && vm->sh->view_policy[o] == HV_POLICY_SWITCH && vm->sh->view_policy_arg[o] == v)
			return -HV_EBUSY;
	vm->sh->eptp_list[v] = 0; /* unreachable by VMFUNC first, then forgotten by the CPU, then freed */
	view_invalidate(vm, v);
	vm->sh->view_live[v] = false;
	policy_view_fini(vm, v);
	return 0;
}

/* vm_destroy: every view's EPT and policy. */
void views_destroy_all(struct vm *vm)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		vm->sh->view_live[v] = false;
		policy_view_fini(vm, v);
	}
}

/* EPT forbids write-without-read (a misconfiguration) and execute-only unless the CPU offers
 * it (SDM "EPT Misconfigurations"). */
static bool access_valid(u64 a)
{
	if (a & ~7UL)
		return false;
	if ((a & HV_ACCESS_W) && !(a & HV_ACCESS_R))
		return false;
	return a != HV_ACCESS_X || vmx_caps.ept_execute_only;
}

/* Checks a page-aligned, non-empty range inside guest RAM: 0 or -errno. */
static s64 range_check(struct vm *vm, u64 gpa, u64 size)
{
	if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || size == 0)
		return -HV_EINVAL;
	return vm_gpa(vm, gpa, size) ? 0 : -HV_EFAULT;
}

s64 view_set_access(struct vm *vm, u64 v, u64 gpa, u64 size, u64 access)
{
	s64 err = range_check(vm, gpa, size);
	if (!view_valid(vm, v) || !access_valid(access))
		return -HV_EINVAL;
	return err ? err : policy_set_rights(vm, v, gpa, size, access);
}

/* The rights the view gives the page (what HC_VIEW_SET_ACCESS set); a trap or a region on its
 * frame takes some away in the leaf without changing this. */
s64 view_get_access(struct vm *vm, u64 v, u64 gpa)
{
	struct page_info pi;
	if (!view_valid(vm, v))
		return -HV_EINVAL;
	if (!policy_lookup(vm, v, gpa, &pi))
		return -HV_EFAULT;
	return pi.rights;
}

s64 view_set_ve(struct vm *vm, u64 v, u64 gpa, u64 size, u64 on)
{
	s64 err = range_check(vm, gpa, size);
	if (!view_valid(vm, v) || on > 1)
		return -HV_EINVAL;
	return err ? err : policy_set_ve(vm, v, gpa, size, on);
}

/* In view v, the page at gpa shows the frame of target (Xen altp2m's change_gfn); target ==
 * gpa undoes it. The frame's monitors come with it (docs/views.md). */
s64 view_remap(struct vm *vm, u64 v, u64 gpa, u64 target)
{
	if (!view_valid(vm, v) || !IS_ALIGNED(gpa | target, PAGE_SIZE))
		return -HV_EINVAL;
	if (!vm_gpa(vm, gpa, PAGE_SIZE) || !vm_gpa(vm, target, PAGE_SIZE))
		return -HV_EFAULT;
	return policy_remap(vm, v, gpa, target);
}

/* Switch the vCPU's view in software (the hypercall, and emulated VMFUNC). Returns the view
 * it was in. */
s64 view_switch(struct vm *vm, u64 v)
{
	if (!view_valid(vm, v))
		return -HV_EINVAL;
	u32 prev = view_current(vm);
	if (vm->step.open) /* a step belongs to one view: it never outlives a switch */
		return -HV_EBUSY;
	/* EXERCISE(07): switch this vCPU to view v without VMFUNC: the VMCS's EPT pointer, the
	 * EPTP index #VE reports (where the CPU has #VE), and vm->view. */
	vmcs_write(EPT_POINTER, ept_eptp(&vm->sh->views[v]));
	if (vmx_caps.ept_violation_ve)
		vmcs_write(EPTP_INDEX, v);
	vm->view = v;
	/* END EXERCISE(07) */
	return prev;
}

s64 view_set_policy(struct vm *vm, u64 v, u64 policy, u64 arg)
{
	if (!view_valid(vm, v) || policy > HV_POLICY_SWITCH || (policy == HV_POLICY_SWITCH && !view_valid(vm, arg)))
		return -HV_EINVAL;
	vm->sh->view_policy[v] = policy;
	vm->sh->view_policy_arg[v] = arg;
	return 0;
}

/* VMFUNC on a CPU without it raises #UD, which we intercept: if the bytes at RIP are VMFUNC
 * (0F 01 D4) with EAX = 0 (EPTP switching) and ECX a live view, switch view and step over it,
 * as the CPU would have, with no exit visible to the guest. An invalid leaf or index raises #UD,
 * the answer hardware VMFUNC gets from us too. Returns false when it is not a VMFUNC. */
bool vmfunc_emulate(struct vm *vm)
{
	u8 insn[3];
	u64 rip = vmcs_read(GUEST_RIP);
	if (vm_read_guest(vm, rip, insn, 3, GW_FETCH | (vm_cpl() == 3 ? GW_USER : 0)) ||
	    insn[0] != 0x0f || insn[1] != 0x01 || insn[2] != 0xd4)
		return false;
	if ((u32)vm->regs[0] != 0 || !view_valid(vm, (u32)vm->regs[1])) {
		vm_inject(vm, 6, false, 0);
		return true;
	}
	view_switch(vm, (u32)vm->regs[1]);
	vmcs_write(GUEST_RIP, rip + 3);
	vm->stats.soft_vmfunc++;
	return true;
}
