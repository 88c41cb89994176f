/* trap.c: the IDT for the 32 exception vectors. An unexpected exception prints a register dump
 * as KTAP diagnostics and ends the run with ERROR. A test may instead provoke a fault on
 * purpose inside trap_catch(), which reports the vector instead of dying (like kvm-unit-tests'
 * exception fixups). External interrupts are never enabled in the hypervisor. */
#include "defs.h"
#include "x86.h"

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type_attr;
	u16 off_mid;
	u32 off_hi, reserved;
} __attribute__((packed));

struct trap_jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

extern const u64 trap_vectors[32];
int trap_setjmp(struct trap_jmp *j) __attribute__((returns_twice));
void trap_longjmp(void);
void trap(struct trap_frame *f);

static struct idt_gate idt[32] __attribute__((aligned(16)));
static struct trap_jmp *catch_jmp;      /* armed by trap_catch() */
static struct fault_info *catch_info;

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

const char *trap_name(int vector) { return vector >= 0 && vector < 32 ? names[vector] : "?"; }

void trap_init(void)
{
	for (int v = 0; v < 32; v++) {
		u64 off = trap_vectors[v];
		idt[v] = (struct idt_gate){
			.off_lo = off & 0xffff,
			.sel = KERNEL_CS,
			.ist = v == 8 ? 1 : 0, /* #DF on its own stack: survives a blown stack */
			.type_attr = 0x8e,     /* present, DPL 0, 64-bit interrupt gate */
			.off_mid = (off >> 16) & 0xffff,
			.off_hi = off >> 32,
		};
	}
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) desc = {sizeof(idt) - 1, (u64)idt};
	__asm__ volatile("lidt %0" ::"m"(desc));
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
	if (catch_jmp && f->vector != 8 && f->vector != 18) {
		catch_info->vector = (int)f->vector;
		catch_info->error_code = f->error_code;
		catch_info->rip = f->rip;
		catch_info->cr2 = read_cr2();
		/* Return from the exception into trap_longjmp(catch_jmp, 1). */
		f->rdi = (u64)catch_jmp;
		f->rsi = 1;
		f->rip = (u64)trap_longjmp;
		catch_jmp = NULL;
		return;
	}
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

/* Run fn(arg); if it raises an exception, stop it there and describe the fault in *fi.
 * Returns the vector, or -1 when fn returned normally. Not reentrant. */
int trap_catch(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	struct trap_jmp j;
	fi->vector = -1;
	catch_info = fi;
	if (trap_setjmp(&j) == 0) {
		catch_jmp = &j;
		fn(arg);
		catch_jmp = NULL;
	}
	return fi->vector;
}
