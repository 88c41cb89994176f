/* emu_glue.c: what an emulated region (region.c) needs around the interpreter beyond its general
 * state: the guest's FPU/SSE state (fpu.c), debug registers and blocking by MOV SS in, the CPUID
 * the guest sees for the interpreter's decoder, and the stops the hypervisor finishes itself, with
 * no hardware step: RDRAND/RDSEED/RDPID (the host's instruction, its result into the guest's
 * register), INT n/INT3/INT1 (injected as the software events they are) and a #DB the
 * interpreter reports (single step or breakpoint). Everything else goes back to region.c. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define X86_CR4_FSGSBASE BIT(16)

static u64 read_dr(int n)
{
	u64 v = 0;
	switch (n) {
	case 0: __asm__ volatile("mov %%db0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%db1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%db2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%db3, %0" : "=r"(v)); break;
	default: __asm__ volatile("mov %%db6, %0" : "=r"(v)); break;
	}
	return v;
}

/* The CPUID leaves the guest sees (exit.c answers its CPUID with these; VMX is not offered, which
 * the interpreter does not decode anyway), set once: emu_set_cpuid() drops the decode cache. */
static void set_cpuid(struct emu *e)
{
	struct emu_cpuid id;
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &id.l1_ecx, &id.l1_edx);
	cpuid(0, 0, &a, &b, &c, &d);
	id.l7_ebx = id.l7_ecx = 0;
	if (a >= 7)
		cpuid(7, 0, &a, &id.l7_ebx, &id.l7_ecx, &d);
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	id.x1_ecx = id.x1_edx = 0;
	if (a >= 0x80000001)
		cpuid(0x80000001, 0, &a, &b, &id.x1_ecx, &id.x1_edx);
	if (memcmp(&id, &e->cpuid, sizeof(id)))
		emu_set_cpuid(e, &id);
}

void emu_glue_load(struct vm *vm, struct emu *e)
{
	(void)vm;
	set_cpuid(e);
	fpu_to_emu(&e->cpu);
	for (int i = 0; i < 4; i++)
		e->cpu.dr[i] = read_dr(i);
	e->cpu.dr7 = vmcs_read(GUEST_DR7);
	e->cpu.mov_ss = vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_MOV_SS;
	e->cpu.pending_dbg = e->cpu.mov_ss ? (u32)vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) & 0x400f : 0;
}

void emu_glue_store(struct vm *vm, struct emu *e)
{
	(void)vm;
	fpu_from_emu(&e->cpu);
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if ((intr & GUEST_INTR_STATE_MOV_SS) && !e->cpu.mov_ss) { /* an instruction retired after it */
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~(u64)GUEST_INTR_STATE_MOV_SS);
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	}
}

/* RDRAND/RDSEED (SDM "RDRAND", "RDSEED"): CF = 1 with a value, else CF = 0 and 0; OF SF ZF AF PF
 * cleared; while fuzzing, the fuzzer's seeded generator (fuzz.c), as the CPU's RDRAND exits get.
 * RDPID: IA32_TSC_AUX, as the guest would read it (hvlab does not switch it). */
static void random_insn(struct vm *vm, struct emu *e, const struct emu_result *r)
{
	u64 v = 0;
	u8 ok = 1;
	if (r->exit != EMU_X_RDPID && fuzz_random(vm, &v))
		ok = 1;
	else if (r->exit == EMU_X_RDRAND)
		__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
	else if (r->exit == EMU_X_RDSEED)
		__asm__ volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
	else
		v = rdmsr(0xc0000103); /* IA32_TSC_AUX */
	u64 *g = &e->cpu.gpr[r->reg & 15];
	if (!ok)
		v = 0;
	*g = r->osz == 8 ? v : r->osz == 4 ? (u32)v : (*g & ~0xffffUL) | (u16)v;
	if (r->exit != EMU_X_RDPID)
		emu_set_rflags(e, (emu_get_rflags(e) & ~0x8d5UL) | ok);
	e->cpu.rip += r->len;
}

int emu_glue_stop(struct vm *vm, struct emu *e, const struct emu_result *r)
{
	if (r->reason == EMU_STOP_DEBUG) { /* SDM "Debug Status Register (DR6)": B0-B3 and BS reported */
		vcpu_inject_db(vm, r->dr6);
		return -1;
	}
	if (r->reason != EMU_STOP_HYPERVISOR)
		return 0;
	switch (r->exit) {
	case EMU_X_RDRAND: case EMU_X_RDSEED: case EMU_X_RDPID:
		random_insn(vm, e, r);
		return 1;
	case EMU_X_INT:
		vm_inject_event(vm, INTR_TYPE_SOFT_INTR, r->vector, false, 0, r->len);
		return -1;
	case EMU_X_INT3:
		vm_inject_event(vm, INTR_TYPE_SOFT_EXCEPTION, 3, false, 0, r->len);
		return -1;
	case EMU_X_INT1:
		vm_inject_event(vm, INTR_TYPE_PRIV_SW_EXCEPTION, 1, false, 0, r->len);
		return -1;
	default:
		return 0;
	}
}
