/* catch.c: exception names and fault catching, for both kernels (see catch.h). The jump back
 * is setjmp/longjmp style: catch_setjmp and catch_longjmp are in kernel/vectors.inc. */
#include "catch.h"
#include "x86.h"

struct catch_jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

int catch_setjmp(struct catch_jmp *j) __attribute__((returns_twice));
void catch_longjmp(void); /* (struct catch_jmp *j, int val), entered by IRETQ */

static struct catch_jmp *catch_jmp; /* armed by trap_catch() */
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

int trap_catch(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	struct catch_jmp j;
	fi->vector = -1;
	catch_info = fi;
	if (catch_setjmp(&j) == 0) {
		catch_jmp = &j;
		fn(arg);
		catch_jmp = NULL;
	}
	return fi->vector;
}

/* #DF and #MC are never caught: the machine state behind them is not the test's. */
bool trap_caught(struct trap_frame *f, u16 cs, u16 ss)
{
	if (!catch_jmp || f->vector >= 32 || f->vector == 8 || f->vector == 18)
		return false;
	catch_info->vector = (int)f->vector;
	catch_info->error_code = f->error_code;
	catch_info->rip = f->rip;
	catch_info->cr2 = read_cr2();
	/* IRETQ into catch_longjmp(catch_jmp, 1). */
	f->rdi = (u64)catch_jmp;
	f->rsi = 1;
	f->rip = (u64)catch_longjmp;
	f->cs = cs;
	f->ss = ss;
	catch_jmp = NULL;
	return true;
}
