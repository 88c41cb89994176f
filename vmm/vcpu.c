/* vcpu.c: the vCPU's state below every feature: what the last exit reported (read once into
 * vm->exit), the general-purpose registers, the CPL, the view it runs in, stepping over an
 * instruction, and event injection. No policy here: the features and the exit handlers decide,
 * this file only reads and writes the VMCS for them. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

static inline u64 read_dr6(void)
{
	u64 v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}
static inline void write_dr6(u64 v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

/* Exits whose handlers need no exit qualification (the common, cheap ones). */
static bool no_qualification(u32 reason)
{
	const u64 mask = BIT(EXIT_REASON_CPUID) | BIT(EXIT_REASON_VMCALL) | BIT(EXIT_REASON_HLT) |
			 BIT(EXIT_REASON_MSR_READ) | BIT(EXIT_REASON_MSR_WRITE) | BIT(EXIT_REASON_XSETBV) |
			 BIT(EXIT_REASON_INVD) | BIT(EXIT_REASON_WBINVD);
	return reason < 64 && (mask & BIT(reason));
}

/* The exit information fields of this exit (SDM "VM-Exit Information Fields"), read once: the
 * instruction length always, the qualification where a handler reads it, the event being
 * delivered when the exit can interrupt one that must be delivered again (an EPT violation, an
 * intercepted exception). VMREADs are what an exit costs most under emulation: none is wasted. */
void vcpu_read_exit(struct vm *vm, u32 reason)
{
	struct vm_exit *x = &vm->exit;
	*x = (struct vm_exit){.reason = reason};
	vmcs_dump_exit(reason); /* what "vmcs_dump=" or a debugger asked for (vmcs_dump.c) */
	x->len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	if (!no_qualification(reason))
		x->qual = vmcs_read(EXIT_QUALIFICATION);
	if (reason == EXIT_REASON_EPT_VIOLATION || reason == EXIT_REASON_EXCEPTION_NMI ||
	    reason == EXIT_REASON_EPT_MISCONFIG) {
		x->idt_info = vmcs_read(IDT_VECTORING_INFO_FIELD);
		if (x->idt_info & INTR_INFO_DELIVER_CODE_MASK)
			x->idt_error = vmcs_read(IDT_VECTORING_ERROR_CODE);
	}
	if (reason == EXIT_REASON_EXCEPTION_NMI) {
		x->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
		x->intr_error = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	}
	if (reason == EXIT_REASON_EPT_VIOLATION) {
		/* A fault: the instruction did not complete, so no single-step trap of it is pending
		 * (the SDM has such exits save BS clear). Bochs 2.7 saves BS set when RFLAGS.TF was 1,
		 * and VM entry would then deliver a #DB before the instruction ever ran (found by
		 * guest_fuzz, its finding A). */
		u64 dbg = vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS);
		if ((dbg & BIT(14)) && !(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_MOV_SS))
			vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, dbg & ~BIT(14));
	}
	if (reason == EXIT_REASON_EPT_VIOLATION || reason == EXIT_REASON_EPT_MISCONFIG) {
		x->gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		if (x->qual & EPT_VIOLATION_GLA_VALID)
			x->gla = vmcs_read(GUEST_LINEAR_ADDRESS);
	}
}

/* General-purpose register n (x86 numbering); RSP lives in the VMCS, so it is copied to *rsp
 * and the caller writes it back if it changed it. */
u64 *vcpu_gpr(struct vm *vm, int n, u64 *rsp)
{
	if (n == 4) {
		*rsp = vmcs_read(GUEST_RSP);
		return rsp;
	}
	return &vm->regs[n];
}

/* CPL = DPL of SS (SDM "Checks on Guest Segment Registers": SS.DPL equals CPL). */
int vm_cpl(void) { return (vmcs_read(GUEST_SS_AR_BYTES) >> 5) & 3; }

/* The instruction that exited is complete: step over it. Blocking by STI / MOV SS ends with
 * it (SDM "Interruptibility State"). Begun with RFLAGS.TF set, it ends in a single-step trap,
 * which is the hypervisor's to raise: the exit saved the pending debug exceptions clear (SDM
 * "Saving Non-Register State"), so BS goes there and VM entry delivers the #DB after
 * the instruction, as the CPU would have (KVM does the same). Bochs 2.7 saved BS set, which
 * hid this; Bochs 2.8 and later save it clear, as the SDM says, and the #DB was lost. */
void vm_skip_instruction(struct vm *vm)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + vm->exit.len);
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	if (vmcs_read(GUEST_RFLAGS) & X86_RFLAGS_TF)
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) | BIT(14));
	vm->insn_seq++;
}

/* Queue an event for the next VM entry (SDM "VM-Entry Controls for Event Injection").
 * Exceptions keep fault semantics (RIP stays on the instruction); software interrupts and
 * software exceptions (INT n, INT3, INTO, INT1) need the instruction length. External
 * interrupts and NMIs respect interruptibility: refused (-1) while RFLAGS.IF=0 or blocked by
 * STI/MOV SS (or by NMI), the checks VM entry itself would make. */
int vm_inject_event(struct vm *vm, u32 type, u8 vector, bool has_error, u32 error, u32 insn_len)
{
	(void)vm;
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (type == INTR_TYPE_EXT_INTR &&
	    (!(vmcs_read(GUEST_RFLAGS) & X86_RFLAGS_IF) || (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))))
		return -1;
	if (type == INTR_TYPE_NMI_INTR && (intr & (GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)))
		return -1;
	u32 info = vector | type | INTR_INFO_VALID_MASK;
	if (has_error) {
		info |= INTR_INFO_DELIVER_CODE_MASK;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION || type == INTR_TYPE_PRIV_SW_EXCEPTION)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, insn_len);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
	return 0;
}

/* Faults (as opposed to traps and aborts, SDM "Exception Classifications"): the CPU pushes
 * RFLAGS with RF=1 when it delivers one, so the instruction can restart past an instruction
 * breakpoint. An injected exception pushes GUEST_RFLAGS as it is: set RF there, as KVM does. */
static bool is_fault(u8 vector)
{
	return vector < 32 && ((0x3b7ce1UL >> vector) & 1); /* 0, 5-7, 10-14, 16, 17, 19-21 */
}

/* A hardware exception (#UD, #GP, #VE, ...). */
void vm_inject(struct vm *vm, u8 vector, bool has_error, u32 error)
{
	if (is_fault(vector))
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | BIT(16));
	vm_inject_event(vm, INTR_TYPE_HARD_EXCEPTION, vector, has_error, error, 0);
}

/* A debug exception as the CPU reports one: DR6 gets the condition bits (B0-B3, BD, BS, BT)
 * first, since neither a #DB VM exit nor an injected #DB updates DR6 (SDM "Debug Exceptions",
 * "Exit Qualification for Debug Exceptions"). The hypervisor never uses the debug registers,
 * so DR6 holds the guest's value. B0-B3 describe this exception only; the others stick. */
void vcpu_inject_db(struct vm *vm, u64 dr6_bits)
{
	u64 dr6 = read_dr6();
	dr6 = (dr6 & ~0xfUL) | (dr6_bits & (0xfUL | BIT(13) | BIT(14) | BIT(15)));
	write_dr6(dr6);
	vm_inject_event(vm, INTR_TYPE_HARD_EXCEPTION, 1, false, 0, 0);
}

void vm_dump_guest(struct vm *vm)
{
	printf("# guest: RIP=%016lx RSP=%016lx RFLAGS=%016lx CPL=%d\n", vmcs_read(GUEST_RIP),
	       vmcs_read(GUEST_RSP), vmcs_read(GUEST_RFLAGS), vm_cpl());
	printf("# guest: CR0=%016lx CR3=%016lx CR4=%016lx EFER=%lx\n", vmcs_read(GUEST_CR0),
	       vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4), vmcs_read(GUEST_IA32_EFER));
	printf("# guest: CS=%04lx/%05lx SS=%04lx/%05lx TR=%04lx/%05lx GDTR=%lx+%lx IDTR=%lx+%lx\n",
	       vmcs_read(GUEST_CS_SELECTOR), vmcs_read(GUEST_CS_AR_BYTES), vmcs_read(GUEST_SS_SELECTOR),
	       vmcs_read(GUEST_SS_AR_BYTES), vmcs_read(GUEST_TR_SELECTOR), vmcs_read(GUEST_TR_AR_BYTES),
	       vmcs_read(GUEST_GDTR_BASE), vmcs_read(GUEST_GDTR_LIMIT), vmcs_read(GUEST_IDTR_BASE),
	       vmcs_read(GUEST_IDTR_LIMIT));
	printf("# guest: RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", vm->regs[0], vm->regs[3],
	       vm->regs[1], vm->regs[2]);
	printf("# guest: RSI=%016lx RDI=%016lx RBP=%016lx\n", vm->regs[6], vm->regs[7], vm->regs[5]);
}

/* Which view is the vCPU in? After a hardware VMFUNC only the VMCS knows: the EPT pointer it
 * loaded from the EPTP list (SDM "EPTP Switching"). */
u32 view_current(struct vm *vm)
{
	u64 eptp = vmcs_read(EPT_POINTER);
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v] && ept_eptp(&vm->sh->views[v]) == eptp)
			return vm->view = v;
	return vm->view;
}
