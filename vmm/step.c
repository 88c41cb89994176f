/* step.c: the hardware single step, the one place a step starts and ends. When the interpreter
 * cannot run an instruction for a trap or a region, the CPU runs it with extra rights on the
 * pages it needs (policy_grant), and the step ends at the very next VM exit of any kind
 * (step_end, called by the run loop before anything else happens at that exit). Mechanisms:
 * the monitor trap flag where the CPU has it and it works (probed: Bochs 2.7 advertises MTF but
 * never raises it); otherwise RFLAGS.TF with every exception intercepted; an event delivery
 * through a monitored page uses MTF or a VMX-preemption timer of 0 (an exit right after the
 * delivery, before the handler's first instruction; SDM "VMX-Preemption Timer"). The guest
 * never sees the hypervisor's TF, and its own TF and debug exceptions reach it as natively.
 * docs/architecture.md, "Single steps". */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define DR6_BS BIT(14)
#define DBG_QUAL_BITS (0xfUL | BIT(13)) /* B0-B3, BD in the #DB exit qualification */

static int mtf_state; /* 0 not probed, 1 works, -1 advertised but never fires */

void step_set_mtf_works(bool works) { mtf_state = works ? 1 : -1; }
bool step_mtf_works(void) { return vmx_caps.mtf && mtf_state > 0; }

static int pick(u32 kind)
{
	if (step_mtf_works())
		return STEP_MTF;
	if (kind != STEP_DELIVERY)
		return STEP_TF;
	return vmx_caps.preemption_timer ? STEP_TIMER0 : -1;
}

static void set_proc(u32 bit, bool on)
{
	u64 c = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, on ? c | bit : c & ~bit);
}

/* RFLAGS.TF for one instruction, every exception intercepted so that one raised by the stepped
 * instruction exits before it is delivered (with our TF still in RFLAGS, never pushed). Blocking
 * by STI or MOV SS is dropped first: with it, VM entry demands a pending single-step #DB (SDM
 * "Checks on Guest Non-Register State"), and hvlab injects no interrupts it could hold back. */
static void begin_tf(struct vm *vm, struct step *s)
{
	u64 rflags = vmcs_read(GUEST_RFLAGS), intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	(void)vm;
	s->guest_tf = rflags & X86_RFLAGS_TF;
	vmcs_write(GUEST_RFLAGS, rflags | X86_RFLAGS_TF);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	s->saved_bitmap = vmcs_read(EXCEPTION_BITMAP);
	vmcs_write(EXCEPTION_BITMAP, ~0U);
}

/* The pages to grant: this one, plus those of the last step if it was the same instruction in
 * the same view ended by an EPT violation (it needs two monitored pages, e.g. a copy between
 * two trapped frames). More than STEP_PAGES: -1. */
static int pages_for_step(struct step *s, u32 v, u64 rip, u64 gpa, u64 rights, u64 *pages, u64 *r)
{
	u32 n = 0;
	if (s->chain && s->last_rip == rip && s->last_view == v)
		for (; n < s->last_npages; n++)
			pages[n] = s->last_pages[n], r[n] = s->last_rights[n];
	if (n == STEP_PAGES)
		return -1;
	pages[n] = ALIGN_DOWN(gpa, PAGE_SIZE), r[n] = rights;
	return n + 1;
}

/* Open a step of `kind` on page gpa of the current view with `rights` added (never more than the
 * view gives: policy_leaf). -1 when this CPU cannot step it (the caller stops the guest with a
 * report) or the grant failed. */
int step_begin(struct vm *vm, u32 kind, u32 id, u64 gpa, u64 rights, u32 flags)
{
	struct step *s = &vm->step;
	u32 v = view_current(vm);
	u64 rip = vmcs_read(GUEST_RIP), pages[STEP_PAGES], r[STEP_PAGES];
	int how = pick(kind), n = pages_for_step(s, v, rip, gpa, rights, pages, r);
	if (s->open || how < 0 || n < 0 || !smp_hold_others(vm))
		return -1;
	if (policy_grant(vm, v, n, pages, r)) {
		smp_release_others(vm);
		return -1;
	}
	s->open = true, s->kind = kind, s->how = how, s->id = id, s->view = v, s->gpa = gpa, s->rip = rip;
	s->flags = flags, s->last_npages = n;
	for (int i = 0; i < n; i++)
		s->last_pages[i] = pages[i], s->last_rights[i] = r[i];
	s->steps[how]++;
	if (how == STEP_MTF)
		set_proc(CPU_BASED_MONITOR_TRAP_FLAG, true);
	else if (how == STEP_TF)
		begin_tf(vm, s);
	else { /* the run loop's watchdog_arm() leaves a 0 in place while this step is open */
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0);
		vm->timer_left = 0; /* and writes the time left again after it */
	}
	return 0;
}

/* Undo what begin_tf did. The exit that ended the step tells whether our TF caused it. */
static bool end_tf(struct vm *vm, struct step *s)
{
	const struct vm_exit *x = &vm->exit;
	u64 rflags = vmcs_read(GUEST_RFLAGS);
	vmcs_write(EXCEPTION_BITMAP, s->saved_bitmap);
	if (!(s->flags & STEP_F_LOADS_RFLAGS) && !s->guest_tf)
		vmcs_write(GUEST_RFLAGS, rflags & ~X86_RFLAGS_TF);
	if ((s->flags & STEP_F_SYSCALL) && !s->guest_tf) /* SYSCALL saved RFLAGS, our TF with it */
		vm->regs[11] &= ~X86_RFLAGS_TF;
	bool own = x->reason == EXIT_REASON_EXCEPTION_NMI && (x->intr_info & 0xff) == 1 &&
		   (x->intr_info & (7 << 8)) == INTR_TYPE_HARD_EXCEPTION && (x->qual & DR6_BS);
	if (own) { /* our single-step trap; the guest gets what is its own of it */
		u64 bits = (x->qual & DBG_QUAL_BITS) | (s->guest_tf ? DR6_BS : 0);
		if (bits)
			vcpu_inject_db(vm, bits);
		return true;
	}
	/* Another exit came first (the instruction's own exit, a fault, a violation). Bochs 2.7
	 * saves a single-step #DB pending (BS) at the exit of an instruction run with TF=1 (the SDM
	 * saves it clear): it was ours unless the guest's TF was set too, and then
	 * vm_skip_instruction raises the guest's own. */
	if (!s->guest_tf)
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) & ~DR6_BS);
	return false;
}

/* Called first at every VM exit while a step is open. The rights go, the mechanism is undone.
 * Returns true when this exit only reported the end of the step (nothing else to handle). */
bool step_end(struct vm *vm)
{
	struct step *s = &vm->step;
	if (!s->open)
		return false;
	s->open = false;
	policy_revoke(vm);
	smp_release_others(vm); /* the rights are gone: the other vCPUs may run again */
	/* the same instruction may come back at once for another page: it keeps the ones it had */
	s->chain = vm->exit.reason == EXIT_REASON_EPT_VIOLATION && vmcs_read(GUEST_RIP) == s->rip;
	s->last_rip = s->rip, s->last_view = s->view;
	switch (s->how) {
	case STEP_MTF:
		set_proc(CPU_BASED_MONITOR_TRAP_FLAG, false);
		return vm->exit.reason == EXIT_REASON_MONITOR_TRAP_FLAG;
	case STEP_TIMER0:
		return vm->exit.reason == EXIT_REASON_PREEMPTION_TIMER;
	default:
		return end_tf(vm, s);
	}
}

/* The run ends with a step open (the guest stopped): give the rights back. */
void step_abort(struct vm *vm)
{
	if (!vm->step.open)
		return;
	vm->exit = (struct vm_exit){0};
	step_end(vm);
}
