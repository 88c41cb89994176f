/* views.c: EPT views. Each view is a full EPT hierarchy over the same guest RAM with its own
 * permissions; the vCPU runs in one at a time and changes view by hypercall, by hardware VMFUNC
 * (leaf 0, EPTP switching, through the EPTP list) or by VMFUNC emulated on #UD where the CPU
 * lacks it. Every change is followed by INVEPT for the view's EPTP (seeds/002: without it a
 * stale translation hides the change). Also: traps on single pages, the #VE information page. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

static u64 level_size(int level) { return 1UL << (12 + 9 * (level - 1)); }

bool view_valid(const struct vm *vm, u64 v) { return v < HV_VIEW_MAX && vm->view_live[v]; }

/* Which view is the vCPU in? After a hardware VMFUNC only the VMCS knows. EPTP_INDEX exists
 * only on CPUs with EPT-violation #VE (SDM "VM-Execution Control Fields"). */
u32 view_current(struct vm *vm)
{
	u64 eptp = vmcs_read(EPT_POINTER);
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->view_live[v] && ept_eptp(&vm->views[v]) == eptp)
			return vm->view = v;
	return vm->view;
}

int view_invalidate(struct vm *vm, u32 v)
{
	/* EXERCISE(06): INVEPT for view v's EPTP, single-context where the CPU has it, else
	 * all-context (docs/exercises/06-ept.md); count it in vm->invepts and vm->last_invept_eptp.
	 * Return -1 when the CPU has no INVEPT or INVEPT fails. [uses vm, v] */
	const struct vmx_caps *c = &vmx_caps;
	u64 type = c->invept_single ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	if (!c->invept || VMX_CHECK("INVEPT", __invept(type, ept_eptp(&vm->views[v]))))
		return -1;
	vm->invepts++;
	vm->last_invept_eptp = ept_eptp(&vm->views[v]);
	/* END EXERCISE(06) */
	return 0;
}

/* A new view maps all of guest RAM RWX with #VE suppressed, as view 0 did at boot; existing
 * traps apply to it too. Returns the index or -errno. */
s64 view_create(struct vm *vm)
{
	u32 v = 0;
	while (v < HV_VIEW_MAX && vm->view_live[v])
		v++;
	if (v == HV_VIEW_MAX)
		return -HV_ENOSPC;
	struct ept *e = &vm->views[v];
	if (ept_init(e, vmx_caps.ept_2m, vmx_caps.ept_1g) ||
	    ept_map(e, 0, (u64)vm->ram, vm->ram_size, EPT_RWX | EPT_SUPPRESS_VE)) {
		ept_destroy(e);
		return -HV_ENOSPC;
	}
	vm->view_live[v] = true;
	vm->view_policy[v] = HV_POLICY_STOP;
	/* EXERCISE(07): make the view reachable by VMFUNC: its EPTP in entry v of the EPTP list
	 * (docs/exercises/07-views.md). */
	vm->eptp_list[v] = ept_eptp(e);
	/* END EXERCISE(07) */
	for (u32 t = 0; t < HV_TRAP_MAX; t++)
		if (vm->traps[t].live)
			trap_apply(vm, t, v);
	for (u32 r = 0; r < HV_REGION_MAX; r++)
		if (vm->regions[r].live)
			region_apply(vm, r, v);
	return v;
}

s64 view_destroy(struct vm *vm, u64 v)
{
	if (v == 0 || !view_valid(vm, v))
		return -HV_EINVAL;
	if (v == view_current(vm))
		return -HV_EBUSY;
	for (u32 o = 0; o < HV_VIEW_MAX; o++) /* another view's policy switches to it */
		if (vm->view_live[o] && vm->view_policy[o] == HV_POLICY_SWITCH && vm->view_policy_arg[o] == v)
			return -HV_EBUSY;
	vm->eptp_list[v] = 0;
	view_invalidate(vm, v);
	ept_destroy(&vm->views[v]);
	vm->view_live[v] = false;
	return 0;
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

/* Calls fn on every leaf covering [gpa, gpa+size) in view v, splitting a large page only where
 * the range covers part of it. Then INVEPT. */
static s64 for_each_leaf(struct vm *vm, u32 v, u64 gpa, u64 size, void (*fn)(u64 *leaf, u64 arg), u64 arg)
{
	struct ept *e = &vm->views[v];
	for (u64 pos = gpa, end = gpa + size; pos < end;) {
		int level;
		u64 *leaf = ept_leaf(e, pos, &level);
		if (!leaf)
			return -HV_EFAULT;
		u64 base = pos & ~(level_size(level) - 1);
		if (level > 1 && (base < gpa || base + level_size(level) > end)) {
			if (ept_split(e, pos))
				return -HV_ENOSPC;
			continue;
		}
		fn(leaf, arg);
		pos = base + level_size(level);
	}
	view_invalidate(vm, v);
	return 0;
}

static void set_rwx(u64 *leaf, u64 access) { *leaf = (*leaf & ~EPT_RWX) | access; }
static void set_ve(u64 *leaf, u64 on) { *leaf = on ? *leaf & ~EPT_SUPPRESS_VE : *leaf | EPT_SUPPRESS_VE; }

/* Pages with a trap or in an emulated region keep the rights those give them. */
static bool range_monitored(struct vm *vm, u64 gpa, u64 size)
{
	for (u64 p = gpa; p - gpa < size; p += PAGE_SIZE)
		if (vm_monitored(vm, p))
			return true;
	return false;
}

s64 view_set_access(struct vm *vm, u64 v, u64 gpa, u64 size, u64 access)
{
	s64 err = range_check(vm, gpa, size);
	if (!view_valid(vm, v) || !access_valid(access))
		return -HV_EINVAL;
	if (err)
		return err;
	if (range_monitored(vm, gpa, size))
		return -HV_EBUSY;
	return for_each_leaf(vm, v, gpa, size, set_rwx, access);
}

s64 view_get_access(struct vm *vm, u64 v, u64 gpa)
{
	if (!view_valid(vm, v))
		return -HV_EINVAL;
	if (!vm_gpa(vm, gpa, 1))
		return -HV_EFAULT;
	return *ept_leaf(&vm->views[v], gpa, NULL) & EPT_RWX;
}

/* A monitored page (trap or region) keeps #VE suppressed: the CPU would convert its violations
 * before the hypervisor could count or emulate them. */
s64 view_set_ve(struct vm *vm, u64 v, u64 gpa, u64 size, u64 on)
{
	s64 err = range_check(vm, gpa, size);
	if (!view_valid(vm, v) || on > 1)
		return -HV_EINVAL;
	if (err)
		return err;
	if (on && range_monitored(vm, gpa, size))
		return -HV_EBUSY;
	return for_each_leaf(vm, v, gpa, size, set_ve, on);
}

/* In view v, the page at gpa shows the frame of target (Xen altp2m's change_gfn). */
s64 view_remap(struct vm *vm, u64 v, u64 gpa, u64 target)
{
	if (!view_valid(vm, v) || !IS_ALIGNED(gpa | target, PAGE_SIZE))
		return -HV_EINVAL;
	if (!vm_gpa(vm, gpa, PAGE_SIZE) || !vm_gpa(vm, target, PAGE_SIZE))
		return -HV_EFAULT;
	if (ept_split_4k(&vm->views[v], gpa))
		return -HV_ENOSPC;
	u64 *leaf = ept_leaf(&vm->views[v], gpa, NULL);
	*leaf = (*leaf & ~0x000ffffffffff000UL) | ((u64)vm->ram + target);
	view_invalidate(vm, v);
	return 0;
}

/* Switch the vCPU's view in software (the hypercall, and emulated VMFUNC). Returns the view
 * it was in. */
s64 view_switch(struct vm *vm, u64 v)
{
	if (!view_valid(vm, v))
		return -HV_EINVAL;
	u32 prev = view_current(vm);
	/* EXERCISE(07): switch this vCPU to view v without VMFUNC: the VMCS's EPT pointer, the
	 * EPTP index #VE reports (where the CPU has #VE), and vm->view. */
	vmcs_write(EPT_POINTER, ept_eptp(&vm->views[v]));
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
	vm->view_policy[v] = policy;
	vm->view_policy_arg[v] = arg;
	return 0;
}
