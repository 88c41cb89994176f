/* violation.c: what an EPT violation becomes. In order: a #VE for the guest (when the page is
 * convertible, the #VE information page is registered and its semaphore is clear: delivered by
 * the CPU itself, or injected here with the same fields where the CPU cannot), a hit on a trap
 * (counted, the access let through once by single-stepping), or the view's policy (stop,
 * restore access, switch view). Each is recorded in a ring the guest can read. Also: VMFUNC
 * emulated on #UD for CPUs without it. SDM "EPT Violations", "Virtualization Exceptions". */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define VE_VECTOR 20
#define ACTION_VE 3
#define ACTION_TRAP 4

static void record(struct vm *vm, u64 gpa, u64 gla, u64 q, u32 view, u32 action)
{
	struct hv_violation *r = &vm->ring[vm->ring_next++ % HV_VIOLATION_RING];
	*r = (struct hv_violation){.gpa = gpa, .gla = gla, .qualification = q, .view = view, .action = action};
}

/* Copies the oldest unread records to guest memory and forgets them. */
s64 violations_read(struct vm *vm, u64 gpa, u64 max)
{
	if (!IS_ALIGNED(gpa, 8) || max > HV_VIOLATION_RING)
		return -HV_EINVAL;
	struct hv_violation *dst = vm_gpa(vm, gpa, max * sizeof(*dst));
	if (!dst)
		return -HV_EFAULT;
	if (vm->ring_next - vm->ring_read > HV_VIOLATION_RING) /* overwritten: skip to the oldest kept */
		vm->ring_read = vm->ring_next - HV_VIOLATION_RING;
	u64 n = 0;
	for (; n < max && vm->ring_read < vm->ring_next; n++)
		dst[n] = vm->ring[vm->ring_read++ % HV_VIOLATION_RING];
	return n;
}

/* Registers the vCPU's #VE information page. The page is guest RAM, which never moves, so its
 * host-physical address stays valid ("pinned") for the VM's life. */
s64 ve_register(struct vm *vm, u64 gpa)
{
	if (!IS_ALIGNED(gpa, PAGE_SIZE))
		return -HV_EINVAL;
	struct hv_ve_info *info = vm_gpa(vm, gpa, PAGE_SIZE);
	if (!info)
		return -HV_EFAULT;
	vm->ve_info = info;
	vm->ve_gpa = gpa;
	if (vmx_caps.ept_violation_ve && !vm->ve_soft_only) {
		vmcs_write(VE_INFORMATION_ADDRESS, (u64)info);
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_read(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_EPT_VIOLATION_VE);
	}
	return 0;
}

/* What the CPU does for a convertible violation (SDM "Delivering Virtualization Exceptions"),
 * for CPUs that cannot: fill the information area, set the semaphore, raise vector 20.
 * Returns false when no #VE was delivered: the caller then handles the violation as an
 * ordinary EPT-violation exit (the view's policy), as the CPU would without #VE. */
static bool deliver_soft_ve(struct vm *vm, u64 q, u64 gla, u64 gpa, u32 view)
{
	/* EXERCISE(08): the software #VE (docs/exercises/08-ve.md): the fields of vm->ve_info
	 * (struct hv_ve_info) as the CPU writes them, then vector 20 with vm_inject; count it in
	 * vm->stats.soft_ve. [uses vm, q, gla, gpa, view] [stub returns false] */
	struct hv_ve_info *ve = vm->ve_info;
	ve->exit_reason = EXIT_REASON_EPT_VIOLATION;
	ve->semaphore = 0xffffffff;
	ve->qualification = q & ~BIT(12); /* bit 12 (NMI unblocking) is not reported in #VE */
	ve->gla = gla;
	ve->gpa = gpa;
	ve->eptp_index = view;
	vm_inject(vm, VE_VECTOR, false, 0);
	vm->stats.soft_ve++;
	/* END EXERCISE(08) */
	return true;
}

static struct trap *trap_at(struct vm *vm, u64 gpa)
{
	for (u32 t = 0; t < HV_TRAP_MAX; t++)
		if (vm->traps[t].live && vm->traps[t].gpa == ALIGN_DOWN(gpa, PAGE_SIZE))
			return &vm->traps[t];
	return NULL;
}

/* The EPT bits a trap removes: trapping reads must also remove W (write-only is invalid), and
 * X where the CPU has no execute-only pages (SDM "EPT Misconfigurations"). */
static u64 trap_removes(u64 access)
{
	u64 r = (access & HV_ACCESS_R ? EPT_R | EPT_W : 0) | (access & HV_ACCESS_W ? EPT_W : 0) |
		(access & HV_ACCESS_X ? EPT_X : 0);
	return (r & EPT_R) && !vmx_caps.ept_execute_only ? r | EPT_X : r;
}

/* Is #VE enabled on the page in any view? Then the CPU, not the trap, would see its violations. */
static bool ve_enabled_anywhere(struct vm *vm, u64 gpa)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->view_live[v] && !(*ept_leaf(&vm->views[v], gpa, NULL) & EPT_SUPPRESS_VE))
			return true;
	return false;
}

void trap_apply(struct vm *vm, u32 t, u32 v)
{
	struct trap *tr = &vm->traps[t];
	if (ept_split_4k(&vm->views[v], tr->gpa))
		return;
	u64 *leaf = ept_leaf(&vm->views[v], tr->gpa, NULL);
	tr->saved[v] = *leaf & EPT_RWX;
	*leaf &= ~trap_removes(tr->access);
	view_invalidate(vm, v);
}

/* A trap on one guest page, given by GPA or by GVA (translated now, through the guest's page
 * tables; a later remapping of that GVA is not followed: the trap stays on the page). */
s64 trap_add(struct vm *vm, u64 kind, u64 addr, u64 access)
{
	u64 gpa = addr;
	u32 t, pf;
	if (kind > HV_TRAP_GVA || access == 0 || (access & ~7UL))
		return -HV_EINVAL;
	if (kind == HV_TRAP_GVA && vm_gva_to_gpa(vm, addr, 0, &gpa, &pf))
		return -HV_EFAULT;
	if (!vm_gpa(vm, gpa, 1))
		return -HV_EFAULT;
	if (vm_monitored(vm, gpa) || ve_enabled_anywhere(vm, gpa))
		return -HV_EBUSY; /* a trap or an emulated region is there already, or #VE is on */
	for (t = 0; t < HV_TRAP_MAX && vm->traps[t].live; t++)
		;
	if (t == HV_TRAP_MAX)
		return -HV_ENOSPC;
	vm->traps[t] = (struct trap){.live = true, .gpa = ALIGN_DOWN(gpa, PAGE_SIZE), .access = access};
	vm_set_monitored(vm, gpa, true);
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->view_live[v])
			trap_apply(vm, t, v);
	return t;
}

s64 trap_remove(struct vm *vm, u64 t)
{
	if (t >= HV_TRAP_MAX || !vm->traps[t].live)
		return -HV_EINVAL;
	if (vm->stepping && vm->step_kind == STEP_TRAP && vm->step_id == t)
		return -HV_EBUSY;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->view_live[v]) {
			u64 *leaf = ept_leaf(&vm->views[v], vm->traps[t].gpa, NULL);
			*leaf = (*leaf & ~EPT_RWX) | vm->traps[t].saved[v];
			view_invalidate(vm, v);
		}
	vm->traps[t].live = false;
	vm_set_monitored(vm, vm->traps[t].gpa, false);
	return 0;
}

s64 trap_hits(struct vm *vm, u64 t)
{
	if (t >= HV_TRAP_MAX || !vm->traps[t].live)
		return -HV_EINVAL;
	return vm->traps[t].hits;
}

/* Let one instruction run with `rights` added on page gpa in the current view (a trapped
 * access, or one region instruction the interpreter leaves to the CPU), single-stepping: with
 * the monitor trap flag where the CPU has it, else with RFLAGS.TF and a #DB intercept (Bochs's
 * VMX offers no MTF). step_done() takes the rights away again. */
void step_begin(struct vm *vm, u32 kind, u32 id, u64 gpa, u64 rights)
{
	u32 v = view_current(vm);
	u64 *leaf = ept_leaf(&vm->views[v], gpa, NULL);
	vm->step_added = rights & ~(*leaf & EPT_RWX);
	*leaf |= rights;
	view_invalidate(vm, v);
	vm->stepping = true;
	vm->step_kind = kind, vm->step_id = id, vm->step_gpa = gpa, vm->step_view = v;
	if (vmx_caps.mtf) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_read(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_MONITOR_TRAP_FLAG);
		return;
	}
	u64 rflags = vmcs_read(GUEST_RFLAGS);
	vm->step_guest_tf = rflags & X86_RFLAGS_TF;
	vmcs_write(GUEST_RFLAGS, rflags | X86_RFLAGS_TF);
	/* Every exception exits while stepping: one raised by the stepped instruction must reach the
	 * guest after the step ends, not with our TF pushed and the page still executable. */
	vm->step_saved_bitmap = vmcs_read(EXCEPTION_BITMAP);
	vmcs_write(EXCEPTION_BITMAP, ~0U);
}

static void step_over(struct vm *vm, struct trap *tr, u32 v)
{
	(void)v;
	step_begin(vm, STEP_TRAP, tr - vm->traps, tr->gpa, tr->saved[view_current(vm)]);
}

/* After the stepped instruction (an MTF exit, our #DB, or an exit that completed it). Returns
 * true if the guest's own TF was set, so its #DB must still be delivered. */
bool step_done(struct vm *vm)
{
	u64 *leaf = ept_leaf(&vm->views[vm->step_view], vm->step_gpa, NULL);
	*leaf &= ~vm->step_added;
	view_invalidate(vm, vm->step_view);
	vm->stepping = false;
	if (vm->step_kind == STEP_REGION)
		vm->in_region = 0;
	if (vmx_caps.mtf) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_read(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_MONITOR_TRAP_FLAG);
		return false;
	}
	vmcs_write(EXCEPTION_BITMAP, vm->step_saved_bitmap);
	if (!vm->step_guest_tf) {
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) & ~X86_RFLAGS_TF);
		/* An instruction that exited with TF=1 leaves a single-step #DB pending (BS, bit 14
		 * of the pending debug exceptions, SDM "Guest Non-Register State"): it was ours. */
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) & ~BIT(14));
	}
	return vm->step_guest_tf;
}

/* An exit that interrupted the delivery of an event (IDT-vectoring information valid) must
 * deliver that event again when the guest resumes (SDM "Information for VM Exits During Event
 * Delivery"). */
static void reinject_vectoring(void)
{
	u32 idt = vmcs_read(IDT_VECTORING_INFO_FIELD);
	if (!(idt & INTR_INFO_VALID_MASK))
		return;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, idt & ~BIT(12));
	if (idt & INTR_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read(IDT_VECTORING_ERROR_CODE));
	u32 type = (idt >> 8) & 7;
	if (type >= 4 && type <= 6) /* software interrupt or exception: needs the length */
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

/* The whole exit qualification in words (SDM "Exit Qualification for EPT Violations"). */
static void print_qualification(u64 q)
{
	printf("%s%s%s access; entry %c%c%c", q & EPT_VIOLATION_ACC_READ ? "read" : "",
	       q & EPT_VIOLATION_ACC_WRITE ? "write" : "", q & EPT_VIOLATION_ACC_INSTR ? "fetch" : "",
	       q & EPT_VIOLATION_READABLE ? 'r' : '-', q & EPT_VIOLATION_WRITABLE ? 'w' : '-',
	       q & EPT_VIOLATION_EXECUTABLE ? 'x' : '-');
	if (!(q & EPT_VIOLATION_GLA_VALID))
		printf("; no linear address (not from a linear access)");
	else
		printf("; %s", q & EPT_VIOLATION_GVA_TRANSLATED ? "the access's own translation"
								: "a guest paging-structure access");
	if (q & BIT(9))
		printf("; user-mode linear address");
	if (q & BIT(12))
		printf("; NMI unblocking due to IRET");
}

static void stop_on_violation(struct vm *vm, u64 q)
{
	printf("# vm: EPT violation at GPA 0x%lx (GLA 0x%lx) in view %u, qualification 0x%lx: ", vm->stop_gpa,
	       vm->stop_gla, vm->view, q);
	print_qualification(q);
	printf("\n");
	vm->stop = VM_STOP_EPT_VIOLATION;
}

/* An access the interpreter makes to a trapped page: counted (if of a trapped kind) and
 * recorded like a trap hit on the CPU, and let through at once; no single step is needed since
 * the interpreter makes exactly this one access. */
bool trap_emulated_access(struct vm *vm, u64 gpa, u64 gla, u64 q)
{
	struct trap *tr = vm_monitored(vm, gpa) ? trap_at(vm, gpa) : NULL;
	if (!tr)
		return false;
	if (q & tr->access & 7)
		tr->hits++;
	record(vm, gpa, gla, q, view_current(vm), ACTION_TRAP);
	return true;
}

/* The decision for one violation, from a VM exit or from an access the interpreter made. */
void violation_decide(struct vm *vm, u64 q, u64 gpa, u64 gla, bool delivering)
{
	u32 v = view_current(vm);
	u64 *leaf = vm_gpa(vm, gpa, 1) ? ept_leaf(&vm->views[v], gpa, NULL) : NULL;
	bool monitored = leaf && vm_monitored(vm, gpa);
	u32 region = monitored ? vm->page_region[gpa / PAGE_SIZE] : 0;
	struct trap *tr = monitored && !region ? trap_at(vm, gpa) : NULL;
	u32 policy = leaf ? vm->view_policy[v] : HV_POLICY_STOP;
	vm->stop_qual = q, vm->stop_gpa = gpa, vm->stop_gla = gla;
	if (region && (q & EPT_VIOLATION_ACC_INSTR) && !delivering) {
		if (vm->stepping) /* a stepped instruction jumped into a region: that step is over */
			step_done(vm);
		region_enter(vm, region - 1, gpa, gla); /* monitored code: run it in the interpreter */
		return;
	}
	if (leaf && !(*leaf & EPT_SUPPRESS_VE) && vm->ve_info && vm->ve_info->semaphore == 0 && !delivering &&
	    deliver_soft_ve(vm, q, gla, gpa, v)) {
		/* Convertible, but the CPU did not convert it: it cannot (no #VE), or we told it not to. */
		record(vm, gpa, gla, q, v, ACTION_VE);
		return;
	}
	if (tr && !vm->stepping) {
		if (q & tr->access & 7) /* qualification bits 0-2: read, write, fetch */
			tr->hits++;
		step_over(vm, tr, v);
		record(vm, gpa, gla, q, v, ACTION_TRAP);
		return reinject_vectoring();
	}
	record(vm, gpa, gla, q, v, policy);
	if (policy == HV_POLICY_RESTORE && ept_split_4k(&vm->views[v], gpa) == 0) {
		*ept_leaf(&vm->views[v], gpa, NULL) |= EPT_RWX;
		view_invalidate(vm, v);
		return reinject_vectoring();
	}
	if (policy == HV_POLICY_SWITCH && view_switch(vm, vm->view_policy_arg[v]) >= 0)
		return reinject_vectoring();
	if (policy != HV_POLICY_STOP) /* the policy could not act: retrying would loop forever */
		printf("# vm: view %u's policy %u could not be applied\n", v, policy);
	stop_on_violation(vm, q);
}

void violation_handle(struct vm *vm)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);
	bool delivering = vmcs_read(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID_MASK;
	violation_decide(vm, q, vmcs_read(GUEST_PHYSICAL_ADDRESS),
			 q & EPT_VIOLATION_GLA_VALID ? vmcs_read(GUEST_LINEAR_ADDRESS) : 0, delivering);
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
