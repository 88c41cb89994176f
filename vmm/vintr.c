/* vintr.c: interrupts to the guest (docs/smp.md, "Interrupts to the guest"). Each vCPU has a
 * virtual timer (HC_TIMER_ARM: one-shot or periodic, a vector 32-255) kept as a TSC deadline
 * and backed by the LAPIC timer of the vCPU's CPU, whose interrupt makes the guest exit
 * (external-interrupt exiting, acknowledged on exit); and 256 pending bits (a virtual IRR) that
 * the timer and HC_VCPU_IPI set. Before each VM entry the highest pending vector is injected
 * when the guest can take it (RFLAGS.IF = 1, no STI or MOV-SS blocking, no other event being
 * injected, no single step open), else interrupt-window exiting waits for the window (SDM
 * "Interrupt-Window Exiting and Virtual-Interrupt Delivery", "Event Injection"). HLT with
 * IF = 1 waits in the host (HLT, LAPIC timer) for the next interrupt; HLT with IF = 0, or with
 * nothing that could ever wake it, stops the vCPU. No emulated local APIC, no TPR/priorities
 * beyond "highest vector first", no NMIs to the guest. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define TIMER_MAX_US 10000000UL /* 10 s */

static bool any_pending(const struct vm *vm)
{
	return vm->virr[0] | vm->virr[1] | vm->virr[2] | vm->virr[3];
}

static int highest_pending(const struct vm *vm)
{
	for (int w = 3; w >= 0; w--)
		if (vm->virr[w])
			return w * 64 + 63 - __builtin_clzll(vm->virr[w]);
	return -1;
}

static void set_pending(struct vm *vm, u32 v)
{
	__atomic_or_fetch(&vm->virr[v / 64], BIT(v % 64), __ATOMIC_SEQ_CST);
}

static void clear_pending(struct vm *vm, u32 v)
{
	__atomic_and_fetch(&vm->virr[v / 64], ~BIT(v % 64), __ATOMIC_SEQ_CST);
}

/* External-interrupt exiting with acknowledge-on-exit on this vCPU's (current) VMCS. */
static int intr_exits_on(struct vm *vm)
{
	const struct vmx_caps *c = &vmx_caps;
	if (vm->intr_exits)
		return 0;
	if (!(c->pin.allowed1 & PIN_BASED_EXT_INTR_MASK) || !(c->exit.allowed1 & VM_EXIT_ACK_INTR_ON_EXIT) ||
	    !(c->proc.allowed1 & CPU_BASED_INTR_WINDOW_EXITING))
		return -1;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmcs_read(PIN_BASED_VM_EXEC_CONTROL) | PIN_BASED_EXT_INTR_MASK);
	vmcs_write(VM_EXIT_CONTROLS, vmcs_read(VM_EXIT_CONTROLS) | VM_EXIT_ACK_INTR_ON_EXIT);
	vm->intr_exits = true;
	return 0;
}

static void window_exiting(struct vm *vm, bool on)
{
	if (vm->intr_window == on)
		return;
	u64 p = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, on ? p | CPU_BASED_INTR_WINDOW_EXITING : p & ~CPU_BASED_INTR_WINDOW_EXITING);
	vm->intr_window = on;
}

/* HC_TIMER_ARM(vector, microseconds, periodic): 0 microseconds disarms. */
s64 vintr_timer_arm(struct vm *vm, u64 vector, u64 us, u64 periodic)
{
	if (us == 0) {
		vm->vt_deadline = 0;
		return 0;
	}
	if (vector < 32 || vector > 255 || us > TIMER_MAX_US || periodic > 1)
		return -HV_EINVAL;
	if (intr_exits_on(vm))
		return -HV_ENOSYS;
	vm->vt_vector = (u8)vector;
	vm->vt_period = periodic ? us_to_tsc(us) : 0;
	vm->vt_deadline = rdtsc() + us_to_tsc(us);
	vm->vt_lapic = 0; /* program the LAPIC timer again */
	return 0;
}

/* HC_VCPU_IPI(id, vector): pend vector on vCPU id and wake it (an IPI to its CPU: in its guest
 * the interrupt exits, in a HLT wait it wakes the host's HLT). */
s64 vintr_ipi(struct vm *vm, u64 id, u64 vector)
{
	struct vm *t = id == vm->vcpu_id ? vm : smp_vcpu(vm, (u32)id);
	if (vector < 32 || vector > 255 || id >= SMP_MAX_CPUS || !t)
		return -HV_EINVAL;
	set_pending(t, (u32)vector);
	vm->ipis_sent++;
	if (t != vm)
		lapic_send_ipi(smp_cpus[id].apic_id, IRQ_VEC_KICK);
	return 0;
}

/* The timer's deadline passed: pend its vector; periodic ones move on (missed periods are
 * dropped, as a LAPIC timer's would be). */
static void timer_check(struct vm *vm, u64 now)
{
	if (!vm->vt_deadline || now < vm->vt_deadline)
		return;
	set_pending(vm, vm->vt_vector);
	vm->vt_fired++;
	if (!vm->vt_period) {
		vm->vt_deadline = 0;
		return;
	}
	vm->vt_deadline += vm->vt_period;
	if (vm->vt_deadline <= now)
		vm->vt_deadline = now + vm->vt_period;
}

/* The LAPIC timer of this CPU fires at the deadline (one-shot, reprogrammed when it moved). */
static void lapic_for(struct vm *vm, u64 deadline, u64 now)
{
	if (vm->vt_lapic == deadline)
		return;
	vm->vt_lapic = deadline;
	if (!deadline)
		return lapic_timer_stop();
	u64 ticks = (deadline > now ? deadline - now : 1) * lapic_timer_hz() / tsc_hz();
	lapic_timer_start(IRQ_VEC_TIMER, ticks ? ticks : 1, false);
}

/* Before each VM entry. */
void vintr_before_entry(struct vm *vm)
{
	if (!vm->intr_exits)
		return;
	u64 now = rdtsc();
	timer_check(vm, now);
	lapic_for(vm, vm->vt_deadline, now);
	int v = highest_pending(vm);
	if (v < 0)
		return window_exiting(vm, false);
	if (vm->step.open || (vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK) ||
	    vm_inject_event(vm, INTR_TYPE_EXT_INTR, (u8)v, false, 0, 0))
		return window_exiting(vm, true); /* exits as soon as the guest can take it */
	clear_pending(vm, (u32)v);
	vm->intr_injected++;
	window_exiting(vm, any_pending(vm));
}

/* EXIT_REASON_INTERRUPT_WINDOW: the guest can take an interrupt now; before_entry injects. */
void vintr_window_exit(struct vm *vm) { vm->intr_window_exits++; }

/* HLT: true when the vCPU waited for an interrupt (it is pending now: HLT is completed and the
 * interrupt is injected before the next instruction), false when nothing can wake it. */
bool vintr_hlt(struct vm *vm)
{
	bool if_on = vmcs_read(GUEST_RFLAGS) & X86_RFLAGS_IF;
	if (!if_on || (!vm->intr_exits && !vm->smp) || (!vm->vt_deadline && !vm->smp && !any_pending(vm)))
		return false;
	vm_skip_instruction(vm);
	vm->hlt_waits++;
	for (;;) {
		u64 now = rdtsc();
		timer_check(vm, now);
		if (any_pending(vm) || vm->kick || watchdog_expired(vm))
			break;
		u64 wake = vm->vt_deadline;
		if (vm->run_deadline && (!wake || vm->run_deadline < wake))
			wake = vm->run_deadline;
		if (!wake)
			wake = now + us_to_tsc(10000); /* only an IPI can wake it: look again every 10 ms */
		vm->vt_lapic = 0;
		lapic_for(vm, wake, now);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	if (vm->kick) {
		vm->stop = VM_STOP_KICKED;
		vm->kick = false;
	}
	vm->vt_lapic = 0;
	return true;
}

/* Emulated regions (region.c) ask between chunks of instructions: stop at this instruction
 * boundary to let an interrupt in (the guest's RFLAGS.IF is in the VMCS after each chunk) or
 * because the vCPU was kicked. The region resumes where it stopped once the handler returns. */
bool vintr_should_yield(struct vm *vm)
{
	if (!vm->intr_exits)
		return false;
	timer_check(vm, rdtsc());
	if (vm->kick)
		return true;
	return any_pending(vm) && (vmcs_read(GUEST_RFLAGS) & X86_RFLAGS_IF);
}

/* The run ended: this CPU's LAPIC timer is the hypervisor's again. */
void vintr_run_end(struct vm *vm)
{
	if (vm->intr_exits && vm->vt_lapic) {
		lapic_timer_stop();
		vm->vt_lapic = 0;
	}
}
