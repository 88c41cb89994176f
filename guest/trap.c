/* trap.c: what the guest does with an exception. A handler a scenario installed for the
 * vector (e.g. #VE) may resolve it and resume; inside guest_catch() the fault is reported to
 * the caller (setjmp/longjmp style, like kernel/trap.c); otherwise the guest prints a register
 * dump on COM1 and ends the run with HC_EXIT(0xE0 + vector). The IDT is built in desc.c.
 * No external interrupts. */
#include "guest.h"

struct guest_jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

static struct guest_jmp *catch_jmp; /* armed by guest_catch() */
static struct guest_fault *catch_info;
static guest_trap_fn handlers[32];

static const char *const names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
	"coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization exception", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

const char *guest_trap_name(int vector)
{
	return vector >= 0 && vector < 32 ? names[vector] : "INT 0x80 at CPL 0";
}

static void dump(const struct guest_frame *f)
{
	guest_printf("EXCEPTION %lu (%s) error_code=0x%lx\n", f->vector, guest_trap_name(f->vector),
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

void guest_trap(struct guest_frame *f)
{
	if (f->vector < 32 && handlers[f->vector] && handlers[f->vector](f))
		return;
	if (catch_jmp && f->vector < 32 && f->vector != 8 && f->vector != 18) {
		catch_info->vector = (int)f->vector;
		catch_info->error_code = f->error_code;
		catch_info->rip = f->rip;
		catch_info->cr2 = read_cr2();
		/* Return from the exception into guest_longjmp(catch_jmp, 1), at CPL 0 even when
		 * the fault came from CPL 3. */
		f->rdi = (u64)catch_jmp;
		f->rsi = 1;
		f->rip = (u64)guest_longjmp;
		f->cs = GUEST_KCS;
		f->ss = GUEST_KDS;
		catch_jmp = NULL;
		return;
	}
	dump(f);
	guest_exit(f->vector < 32 ? 0xe0 + f->vector : 0xdf);
}

/* Run fn(arg); if it raises an exception, stop it there and describe the fault in *fi.
 * Returns the vector, or -1 when fn returned normally. Not reentrant. */
int guest_catch(void (*fn)(void *), void *arg, struct guest_fault *fi)
{
	struct guest_jmp j;
	fi->vector = -1;
	catch_info = fi;
	if (guest_setjmp(&j) == 0) {
		catch_jmp = &j;
		fn(arg);
		catch_jmp = NULL;
	}
	return fi->vector;
}
