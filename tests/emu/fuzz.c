/* fuzz.c - libFuzzer harness over decode and execute (build: make fuzz-emu,
 * clang -fsanitize=fuzzer,address,undefined). Input: 8 register seeds, a
 * flags byte (arithmetic flags; 0x02 writable code, 0x04 CR4.FSGSBASE, 0x08
 * CR0.TS, 0x10 breakpoints in DR7, 0x20 TF), a mode byte, then code bytes. Memory is a
 * 64 KiB sandbox plus the code page (writable when flags bit 1 is set, for
 * self-modifying code); everything else answers #PF. Checks
 * invariants that must hold for any input: no crash or UB, budget and
 * length bounds, and a fault leaves RIP at the faulting instruction. */
#include <stdlib.h>
#include <string.h>

#include "../../emulator/emu.h"
#include "../../emulator/emu_internal.h"

#define CODE 0x400000ull
#define DATA 0x10000ull
#define DATA_SIZE 0x10000ull

static u8 code[4096 + 16], data[DATA_SIZE];
static bool code_writable;

static u8 *xlate(u64 la, u32 kind)
{
	if (la - DATA < DATA_SIZE)
		return (kind & EMU_ACC_FETCH) ? 0 : data + (la - DATA);
	if (la - CODE < 4096 && (code_writable || !(kind & EMU_ACC_WRITE)))
		return code + (la - CODE);
	return 0;
}

static u8 *fz_map(void *c, u64 page, u32 kind)
{
	(void)c;
	return xlate(page, kind);
}

static int fz_access(void *c, u64 la, void *buf, u32 size, u32 kind, struct emu_fault *f)
{
	(void)c;
	if (size == 0 || size > 16)
		abort();
	for (u32 i = 0; i < size; i++) {
		u8 *p = xlate(la + i, kind);
		if (!p) {
			f->vector = EMU_EXC_PF;
			f->has_error = true;
			f->error_code = (kind & EMU_ACC_WRITE) ? 2 : 0;
			f->cr2 = la + i;
			return -1;
		}
		if (kind & EMU_ACC_WRITE)
			*p = ((u8 *)buf)[i];
		else
			((u8 *)buf)[i] = *p;
	}
	return 0;
}

static const struct emu_mem_ops fast = {fz_access, fz_map}, slow = {fz_access, 0};
static struct emu em;

int LLVMFuzzerTestOneInput(const u8 *p, size_t n)
{
	if (n < 8 * 4 + 2)
		return 0;
	const u8 *regs = p, mode = p[33];
	u8 fl = p[32];
	code_writable = fl & 2; /* self-modifying code through RIP-relative stores */
	p += 34;
	n -= 34;
	if (n > 4096)
		n = 4096;
	struct emu_insn tmp;
	for (unsigned a = 0; a <= 16 && a <= n; a++) /* decoder alone, short buffers */
		(void)emu_decode(&em, &tmp, p, a, CODE);
	memset(code, 0x90, sizeof(code));
	memcpy(code, p, n);
	memset(data, 0xa5, sizeof(data));
	emu_init(&em, (mode & 1) ? &slow : &fast, 0);
	em.cpu.cr4 = EMU_CR4_OSFXSR | ((fl & 4) ? EMU_CR4_FSGSBASE : 0);
	em.cpu.cr0 = (fl & 8) ? EMU_CR0_TS : 0;
	for (int i = 0; i < 16; i++)
		em.cpu.xmm[i].q[0] = em.cpu.xmm[i].q[1] = (u64)i * 0x0123456789abcdefull;
	em.cpu.dr7 = (fl & 0x10) ? 0x55 | (0x3dull << 16) : 0; /* DR0 exec, DR1 write, DR2 rw, DR3 exec */
	em.cpu.dr[0] = DATA + 0x100, em.cpu.dr[1] = DATA + 0x8000 - 8, em.cpu.dr[2] = DATA + 0x10, em.cpu.dr[3] = CODE + 4;
	for (int i = 0; i < 16; i++) {
		u32 v;
		memcpy(&v, regs + 2 * i, 4);
		em.cpu.gpr[i] = (mode & 2) ? DATA + (v & 0xffff) : (u64)v * 0x9e3779b97f4a7c15ull;
	}
	em.cpu.gpr[EMU_RSP] = DATA + 0x8000;
	em.cpu.rip = CODE;
	em.cpu.cpl = (mode & 4) ? 3 : 0;
	em.cpu.fs_base = (mode & 8) ? DATA : 0;
	em.cpu.gs_base = DATA + 0x100;
	emu_set_rflags(&em, 0x202 | (fl & 0xc5) | ((mode & 16) ? EMU_DF : 0) | ((fl & 0x20) ? EMU_TF : 0));
	u64 budget = 1 + (mode >> 5) * 40;
	struct emu_result r = emu_run(&em, CODE, CODE + 4096, budget);
	if (r.executed > budget || r.len > 15 || r.nbytes > 15)
		abort();
	if (r.reason == EMU_STOP_HYPERVISOR && (r.len == 0 || r.exit == EMU_X_NONE))
		abort();
	if (r.reason == EMU_STOP_FAULT && r.fault.vector > 31)
		abort();
	(void)emu_get_rflags(&em);
	return 0;
}
