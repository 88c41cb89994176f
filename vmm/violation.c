/* violation.c: the EPT-violation exit handler, and #VE. A violation means one of two things. The
 * view forbids the access (what the guest asked for): then a #VE for the guest when the page is
 * convertible, the #VE information page is registered and its semaphore is clear (delivered by
 * the CPU itself, or injected here with the same fields where the CPU cannot), else the view's
 * policy (stop, restore access, switch view). Or the view allows it and a monitor on the frame
 * took the right away: a region fetch runs in the interpreter (region.c), a trapped access is
 * counted and executed once (region.c: emulate_once). Each is recorded in a ring the guest can
 * read. SDM "EPT Violations", "Virtualization Exceptions". docs/views.md. */
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

/* An exit that interrupted the delivery of an event (IDT-vectoring information valid) must
 * deliver that event again when the guest resumes (SDM "Information for VM Exits During Event
 * Delivery"). */
static void reinject_vectoring(struct vm *vm)
{
	const struct vm_exit *x = &vm->exit;
	if (!(x->idt_info & INTR_INFO_VALID_MASK) || x->synthetic)
		return;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, x->idt_info & ~BIT(12));
	if (x->idt_info & INTR_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, x->idt_error);
	u32 type = (x->idt_info >> 8) & 7;
	if (type >= 4 && type <= 6) /* software interrupt or exception: needs the length */
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, x->len);
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

/* The view forbids the access: #VE if the guest can take it, else the view's policy. */
static void guest_violation(struct vm *vm, u32 v, const struct page_info *pi, u64 q, u64 gpa, u64 gla, bool delivering)
{
	u32 policy = pi ? vm->sh->view_policy[v] : HV_POLICY_STOP;
	if (pi) /* the rights bits as the view gives them: a monitor's cut of the leaf stays hidden */
		q = (q & ~(EPT_VIOLATION_READABLE | EPT_VIOLATION_WRITABLE | EPT_VIOLATION_EXECUTABLE)) |
		    ((u64)pi->rights << 3);
	if (pi && pi->ve && vm->ve_info && vm->ve_info->semaphore == 0 && !delivering &&
	    deliver_soft_ve(vm, q, gla, gpa, v)) {
		/* Convertible, but the CPU did not convert it: it cannot (no #VE), we told it not to,
		 * or a monitor on the frame keeps #VE suppressed so that the hypervisor sees it. */
		record(vm, gpa, gla, q, v, ACTION_VE);
		return;
	}
	record(vm, gpa, gla, q, v, policy);
	if (policy == HV_POLICY_RESTORE && policy_set_rights(vm, v, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE, 7) == 0)
		return reinject_vectoring(vm);
	if (policy == HV_POLICY_SWITCH && view_switch(vm, vm->sh->view_policy_arg[v]) >= 0)
		return reinject_vectoring(vm);
	if (policy != HV_POLICY_STOP) /* the policy could not act: retrying would loop forever */
		printf("# vm: view %u's policy %u could not be applied\n", v, policy);
	stop_on_violation(vm, q);
}

/* The view allows the access: a monitor on the frame caused the violation. */
static void monitor_violation(struct vm *vm, u32 v, const struct page_info *pi, u64 q, u64 gpa, u64 gla,
			      bool delivering)
{
	struct emu_outcome out = {.what = EMU_OUT_DONE};
	/* Dirty logging (dirty.c): the frame's first write (a guest paging-structure access is one
	 * where EPT A/D flags are on) is logged and the frame made writable; retried. */
	if (pi->wlog && !(pi->xcopy && !(q & EPT_VIOLATION_ACC_WRITE)) && fuzz_write_logged(vm, pi->frame / PAGE_SIZE) &&
	    !pi->region && !pi->trap)
		return reinject_vectoring(vm);
	if (pi->region && (q & EPT_VIOLATION_ACC_INSTR) && !delivering) {
		out = region_enter(vm, pi->region - 1, pi->frame, gla); /* monitored code: interpret it */
	} else if (pi->trap && !delivering) {
		out = emulate_once(vm, pi->trap, q, gpa);
	} else if (pi->trap) { /* pushing an event's frame (or reading its gate) through a trapped frame */
		policy_trap_hit(vm, pi->trap, q & 7);
		reinject_vectoring(vm);
		if (step_begin(vm, STEP_DELIVERY, pi->trap - 1, gpa, EPT_RWX, 0)) {
			printf("# vm: an event is delivered through trapped GPA 0x%lx and this CPU can step neither "
			       "with the monitor trap flag nor with the preemption timer; guest stopped\n", gpa);
			vm->stop = VM_STOP_BAD_GUEST;
		}
	} else if (pi->xcopy && !(q & EPT_VIOLATION_ACC_WRITE) && !delivering &&
		   step_begin(vm, STEP_TRAP, 0, gpa, EPT_R | EPT_X, 0) == 0) {
		/* A read of a frame whose fetches see a copy (cover.c): the CPU runs the instruction in
		 * a single step whose leaf shows the frame itself, readable; then the copy again. */
	} else if (pi->xcopy) { /* a write, an event's access, no step: the copy goes (cover.c); retried */
		cover_unhide(vm, pi->frame);
		reinject_vectoring(vm);
	} else if (pi->wlog) { /* write logging that fuzz_write_logged() did not take: it would loop */
		printf("# vm: a write to GPA 0x%lx under dirty logging was not logged (dirty.c); guest stopped\n", gpa);
		vm->stop = VM_STOP_HV_BUG;
	} else {
		/* Allowed by the view, no monitor that could deny it: the leaf disagrees with the
		 * policy, a hypervisor bug. Retrying would loop; stop and say what differs. */
		printf("# vm: EPT violation at GPA 0x%lx that view %u's policy allows (qualification 0x%lx); "
		       "%lu leaves differ from the policy\n", gpa, v, q, policy_check(vm, true));
		vm->stop = VM_STOP_HV_BUG;
	}
	if (pi->trap)
		record(vm, gpa, gla, q, v, ACTION_TRAP);
	if (out.what == EMU_OUT_VIOLATION) /* the interpreter met an access the view denies */
		violation_decide(vm, out.q, out.gpa, out.gla, false);
}

/* The decision for one violation, from a VM exit or from an access the interpreter made. */
void violation_decide(struct vm *vm, u64 q, u64 gpa, u64 gla, bool delivering)
{
	u32 v = view_current(vm);
	struct page_info pi;
	bool in_ram = policy_lookup(vm, v, gpa, &pi);
	vm->stop_qual = q, vm->stop_gpa = gpa, vm->stop_gla = gla;
	if (in_ram && (q & 7 & pi.rights) == (q & 7))
		return monitor_violation(vm, v, &pi, q, gpa, gla, delivering);
	guest_violation(vm, v, in_ram ? &pi : NULL, q, gpa, gla, delivering);
}

void violation_handle(struct vm *vm)
{
	const struct vm_exit *x = &vm->exit;
	violation_decide(vm, x->qual, x->gpa, x->gla, x->idt_info & INTR_INFO_VALID_MASK);
}
