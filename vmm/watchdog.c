/* watchdog.c: a bound on every guest run. vm_run gives each run a deadline (vm->watchdog_tsc
 * TSC cycles from its start; `watchdog=SECONDS` on the command line, default 60, 0 = off); at
 * every exit the run loop asks watchdog_expired(), and where the CPU has the VMX-preemption
 * timer every VM entry arms it with the time left, so a guest that never exits (a loop with no
 * exit, `jmp .`) is still stopped. The timer counts down at the TSC's rate divided by
 * 2^IA32_VMX_MISC[4:0] (SDM "VMX-Preemption Timer"). Without the timer, only runs that exit
 * (exit storms, emulated regions, which check the deadline between chunks) can be bounded, and
 * the boot says so. The report names RIP, the mode, the region and the last exit reasons. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define DEFAULT_SECONDS 60

u64 watchdog_default_tsc;

void watchdog_setup(const char *cmdline)
{
	char val[24];
	u64 secs = DEFAULT_SECONDS;
	int n = cmdline ? cmdline_get(cmdline, "watchdog", val, sizeof(val)) : -1;
	if (n >= (int)sizeof(val))
		printf("# watchdog: watchdog= is %d characters long; at most %lu fit: the default is used\n", n,
		       sizeof(val) - 1);
	else if (n >= 0)
		secs = strtou64(val, NULL, 10);
	watchdog_default_tsc = secs * tsc_hz();
	if (secs && !vmx_caps.preemption_timer)
		printf("# watchdog: %lu s per guest run, checked at VM exits only: this CPU has no VMX-preemption "
		       "timer, so a guest that loops without exits cannot be stopped\n", secs);
}

/* The pin-based control, changed only when it must be (vm->timer_on mirrors it: read once). */
static void set_timer_control(struct vm *vm, bool on)
{
	if (vm->timer_on == (on ? 2 : 1))
		return;
	u64 pin = vmcs_read(PIN_BASED_VM_EXEC_CONTROL);
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, on ? pin | PIN_BASED_VMX_PREEMPTION_TIMER : pin & ~PIN_BASED_VMX_PREEMPTION_TIMER);
	vm->timer_on = on ? 2 : 1;
}

/* Before each VM entry: the timer holds the time left, or 0 for a step that ends by it. */
void watchdog_arm(struct vm *vm)
{
	if (!vmx_caps.preemption_timer)
		return;
	if (vm->step.open && vm->step.how == STEP_TIMER0)
		return set_timer_control(vm, true); /* step_begin wrote the 0 */
	set_timer_control(vm, vm->run_deadline != 0);
	if (!vm->run_deadline)
		return;
	/* Each entry starts the timer from the VMCS value again, so it must hold the time left; it
	 * is rewritten once the time left is 1/16 of the limit below what it holds, which keeps the
	 * stop within that of the deadline and spares a VMWRITE at most entries. */
	u64 now = rdtsc(), left = vm->run_deadline > now ? vm->run_deadline - now : 0;
	if (vm->timer_left && vm->timer_left - left < vm->watchdog_tsc / 16 && left <= vm->timer_left)
		return;
	vm->timer_left = left;
	left >>= vmx_caps.msr[VMX_MSR_MISC] & VMX_MISC_PREEMPTION_TIMER_RATE_MASK;
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, left > 0xffffffffUL ? 0xffffffffUL : left);
}

bool watchdog_expired(struct vm *vm) { return vm->run_deadline && rdtsc() >= vm->run_deadline; }

static const char *mode(void)
{
	if (!(vmcs_read(GUEST_CR0) & X86_CR0_PE))
		return "real mode";
	if (!(vmcs_read(GUEST_IA32_EFER) & MSR_EFER_LMA))
		return "protected mode";
	return vmcs_read(GUEST_CS_AR_BYTES) & BIT(13) ? "64-bit mode" : "compatibility mode";
}

void watchdog_report(struct vm *vm)
{
	u64 ms = (rdtsc() - vm->run_start) / (tsc_hz() / 1000);
	printf("# vm: watchdog: the guest ran %lu ms, over its limit of %lu ms; stopped at RIP 0x%lx, CPL %d, %s, ", ms,
	       vm->watchdog_tsc / (tsc_hz() / 1000), vmcs_read(GUEST_RIP), vm_cpl(), mode());
	if (vm->in_region)
		printf("inside emulated region %u", vm->in_region - 1);
	else
		printf("not in an emulated region");
	printf("; last exits:");
	for (u64 i = 0; i < VM_LAST_EXITS && i < vm->stats.total; i++)
		printf(" %s", exit_reason_str(vm->last_exits[(vm->stats.total - i) % VM_LAST_EXITS]));
	printf("\n");
	vm->stop = VM_STOP_WATCHDOG;
}
