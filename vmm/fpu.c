/* fpu.c: the guest's x87 and SSE state for the interpreter. The hypervisor is built without SSE
 * and x87 code, so between a VM exit and the next entry the CPU's FPU, XMM registers and MXCSR
 * still hold the guest's values: fpu_to_emu() copies them into struct emu_cpu (FXSAVE) at region
 * entry, fpu_from_emu() puts the interpreter's back (FXRSTOR) before the guest resumes. The
 * x87 data registers stay in the save area in between (the interpreter does not use them). One
 * area: hvlab runs one vCPU at a time. The AVX upper halves are not touched (FXRSTOR keeps them). */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define X86_CR0_MP BIT(1)
#define X86_CR0_EM BIT(2)
#define X86_CR0_TS BIT(3)
#define X86_CR4_OSFXSR BIT(9)

static u8 fx[512] __attribute__((aligned(16))); /* FXSAVE format (SDM "FXSAVE") */

/* FXSAVE/FXRSTOR need CR0.EM = CR0.TS = 0 and, to cover the XMM registers, CR4.OSFXSR = 1 in the
 * hypervisor: set once in the CPU and in the VMCS host state that every VM exit loads. */
static void host_fpu_on(void)
{
	u64 cr0 = read_cr0(), cr4 = read_cr4();
	if ((cr0 & (X86_CR0_EM | X86_CR0_TS)) || !(cr0 & X86_CR0_MP)) {
		cr0 = (cr0 & ~(X86_CR0_EM | X86_CR0_TS)) | X86_CR0_MP;
		write_cr0(cr0);
		vmcs_write(HOST_CR0, cr0);
	}
	if (!(cr4 & X86_CR4_OSFXSR)) {
		write_cr4(cr4 | X86_CR4_OSFXSR);
		vmcs_write(HOST_CR4, cr4 | X86_CR4_OSFXSR);
	}
}

void fpu_to_emu(struct emu_cpu *c)
{
	host_fpu_on();
	__asm__ volatile("fxsave64 %0" : "=m"(fx));
	memcpy(&c->fcw, fx + 0, 2);
	memcpy(&c->fsw, fx + 2, 2);
	c->ftw = fx[4];
	memcpy(&c->fop, fx + 6, 2);
	memcpy(&c->fip, fx + 8, 8);
	memcpy(&c->fdp, fx + 16, 8);
	memcpy(&c->mxcsr, fx + 24, 4);
	memcpy(&c->mxcsr_mask, fx + 28, 4);
	if (!c->mxcsr_mask)
		c->mxcsr_mask = 0xffbf; /* SDM "Guidelines for Writing to the MXCSR Register" */
	memcpy(c->xmm, fx + 160, sizeof(c->xmm));
}

void fpu_from_emu(const struct emu_cpu *c)
{
	memcpy(fx + 0, &c->fcw, 2);
	memcpy(fx + 2, &c->fsw, 2);
	fx[4] = c->ftw;
	memcpy(fx + 6, &c->fop, 2);
	memcpy(fx + 8, &c->fip, 8);
	memcpy(fx + 16, &c->fdp, 8);
	memcpy(fx + 24, &c->mxcsr, 4);
	memcpy(fx + 160, c->xmm, sizeof(c->xmm));
	__asm__ volatile("fxrstor64 %0" ::"m"(fx));
}
