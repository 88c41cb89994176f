/* trap.c: the IDT for the 32 exception vectors. An unexpected exception prints a register dump
 * as KTAP diagnostics and ends the run with ERROR. A test may instead provoke a fault on
 * purpose inside trap_catch() (kernel/catch.c, shared with the guest), which reports the vector instead of dying (like kvm-unit-tests'
 * exception fixups). External interrupts are never enabled in the hypervisor. */
#include "defs.h"
#include "x86.h"
#include "desc.h"

extern const u64 trap_vectors[32];
void trap(struct trap_frame *f);

static struct idt_gate idt[32] __attribute__((aligned(16)));

void trap_init(void)
{
	for (int v = 0; v < 32; v++) /* DPL 0; #DF on its own stack (IST1): survives a blown stack */
		idt[v] = idt_gate(trap_vectors[v], KERNEL_CS, 0, v == 8 ? 1 : 0);
	load_idt(idt, sizeof(idt) - 1);
}

u64 idt_base(void) { return (u64)idt; }

static void dump(const struct trap_frame *f)
{
	printf("# EXCEPTION %lu (%s) error_code=0x%lx\n", f->vector, trap_name(f->vector), f->error_code);
	printf("# RIP=%016lx CS=%04lx RFLAGS=%016lx\n", f->rip, f->cs, f->rflags);
	printf("# RSP=%016lx SS=%04lx CR2=%016lx CR3=%016lx\n", f->rsp, f->ss, read_cr2(), read_cr3());
	printf("# RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printf("# RSI=%016lx RDI=%016lx RBP=%016lx R8=%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
}

void trap(struct trap_frame *f)
{
	if (trap_caught(f, KERNEL_CS, KERNEL_DS))
		return;
	dump(f);
	printf("# result: ERROR\n");
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
