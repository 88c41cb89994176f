/* trap.c: the IDT for the 32 exception vectors. An unexpected exception is a crash of the
 * run: a KTAP "Bail out!" line, a register dump and call trace as diagnostics, exit status
 * ERROR and no "# result:" line. A test may instead provoke a fault on purpose inside
 * trap_catch() (kernel/catch.c, shared with the guest), which reports the vector instead of
 * dying (like kvm-unit-tests' exception fixups). Vectors 32-255 go to irq_dispatch (smp.c);
 * the hypervisor enables interrupts only in its idle waits. */
#include "defs.h"
#include "x86.h"
#include "desc.h"

extern const u64 trap_vectors[32];
void trap(struct trap_frame *f);

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const u64 irq_vectors[256 - 32]; /* kernel/irq_entry.S */
bool (*nmi_hook)(struct trap_frame *f);  /* smp.c: an NMI IPI sent on purpose */

void trap_init(void)
{
	for (int v = 0; v < 32; v++) /* DPL 0; #DF on its own stack (IST1): survives a blown stack */
		idt[v] = idt_gate(trap_vectors[v], KERNEL_CS, 0, v == 8 ? 1 : 0);
	for (int v = 32; v < 256; v++) /* interrupts (kernel/smp.c: irq_dispatch) */
		idt[v] = idt_gate(irq_vectors[v - 32], KERNEL_CS, 0, 0);
	load_idt(idt, sizeof(idt) - 1);
}

void trap_load(void) { load_idt(idt, sizeof(idt) - 1); }

void idt_set(u32 vector, u64 handler) { idt[vector & 0xff] = idt_gate(handler, KERNEL_CS, 0, 0); }

u64 idt_base(void) { return (u64)idt; }

/* Vectors that push an error code (SDM "Exception and Interrupt Reference"). */
static bool has_error_code(u64 v) { return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30; }

/* "#GP" from "#GP general protection"; names without a mnemonic whole. */
static void print_mnemonic(u64 vector)
{
	const char *name = trap_name((int)vector);
	size_t n = name[0] == '#' && strchr(name, ' ') ? (size_t)(strchr(name, ' ') - name) : strlen(name);
	console_write(name, n);
}

static void dump(const struct trap_frame *f)
{
	printf("# EXCEPTION %lu (%s) error_code=0x%lx\n", f->vector, trap_name((int)f->vector), f->error_code);
	printf("# RIP=%016lx CS=%04lx RFLAGS=%016lx\n", f->rip, f->cs, f->rflags);
	printf("# RSP=%016lx SS=%04lx CR2=%016lx CR3=%016lx\n", f->rsp, f->ss, read_cr2(), read_cr3());
	printf("# RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printf("# RSI=%016lx RDI=%016lx RBP=%016lx R8=%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	printf("# R9=%016lx R10=%016lx R11=%016lx R12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	printf("# R13=%016lx R14=%016lx R15=%016lx\n", f->r13, f->r14, f->r15);
	ksym_backtrace(f->rbp);
}

/* An exception no trap_catch() expected is a hypervisor bug: a KTAP "Bail out!" line (the
 * run crashed: no "# result:" line follows), the registers as diagnostics, exit status ERROR.
 * An exception while reporting one ends the machine at once. */
void trap(struct trap_frame *f)
{
	static bool reporting;
	if (trap_caught(f, KERNEL_CS, KERNEL_DS))
		return;
	if (f->vector == 2 && nmi_hook && nmi_hook(f))
		return;
	if (reporting) {
		printf("\n# another exception (vector %lu at RIP 0x%lx) while reporting the first\n", f->vector, f->rip);
		machine_exit(EXIT_ERROR);
	}
	reporting = true;
	printf("\nBail out! hypervisor exception ");
	print_mnemonic(f->vector);
	if (has_error_code(f->vector))
		printf("(0x%lx)", f->error_code);
	printf(" at RIP 0x%lx (", f->rip);
	ksym_print(f->rip);
	if (f->vector == 14)
		printf("), CR2 0x%lx\n", read_cr2());
	else
		printf(")\n");
	dump(f);
	machine_exit(EXIT_ERROR);
}

static void rdmsr_fn(void *arg)
{
	u64 *v = arg;
	*v = rdmsr((u32)*v);
}

/* RDMSR that survives a #GP (an MSR this CPU does not have). Returns 0 or -1. */
int rdmsr_safe(u32 msr, u64 *val)
{
	struct fault_info fi;
	u64 v = msr;
	if (trap_catch(rdmsr_fn, &v, &fi) >= 0)
		return -1;
	*val = v;
	return 0;
}
