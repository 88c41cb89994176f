/* trap.c: what the guest does with an exception. A handler a scenario installed for the
 * vector (e.g. #VE) may resolve it and resume; inside trap_catch() the fault is reported to
 * the caller (setjmp/longjmp style, like kernel/trap.c); otherwise the guest prints a register
 * dump on COM1 and ends the run with HC_EXIT(0xE0 + vector). The IDT is built in desc.c.
 * No external interrupts. */
#include "guest.h"

static guest_trap_fn handlers[32];

static void dump(const struct trap_frame *f)
{
	guest_printf("EXCEPTION %lu (%s) error_code=0x%lx\n", f->vector,
		     f->vector == GUEST_USER_VECTOR ? "INT 0x80 at CPL 0" : trap_name(f->vector),
		     f->error_code);
	guest_printf("RIP=%016lx CS=%04lx RFLAGS=%016lx\n", f->rip, f->cs, f->rflags);
	guest_printf("RSP=%016lx SS=%04lx CR2=%016lx CR3=%016lx\n", f->rsp, f->ss, read_cr2(),
		     read_cr3());
	guest_printf("RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	guest_printf("RSI=%016lx RDI=%016lx RBP=%016lx R8=%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	guest_printf("R9=%016lx R10=%016lx R11=%016lx R12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	guest_printf("R13=%016lx R14=%016lx R15=%016lx\n", f->r13, f->r14, f->r15);
}

/* fn(frame) runs first for every exception on vector; returning true resumes at frame->rip
 * (the faulting instruction, for faults). NULL removes it. */
void guest_trap_set_handler(int vector, guest_trap_fn fn) { handlers[vector & 31] = fn; }

void guest_trap(struct trap_frame *f)
{
	if (f->vector < 32 && handlers[f->vector] && handlers[f->vector](f))
		return;
	if (trap_caught(f, GUEST_KCS, GUEST_KDS))
		return;
	dump(f);
	guest_exit(f->vector < 32 ? 0xe0 + f->vector : 0xdf);
}
