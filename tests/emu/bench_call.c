/* bench_call.c - one emulated call for bench_cmp.c, compiled twice: against
 * the interpreter of this tree and against an old one (-I its sources,
 * -DCALL=old_call). Each copy is linked with its interpreter into one
 * relocatable object whose only global symbol is CALL, so the two
 * interpreters share no symbol. Identity-mapped host memory, as in bench.c. */
#include <string.h>

#include "emu.h"

#include "bench_idmem.h"
static struct emu em;

/* fn(a0, a1, a2, a3) in the emulator with the stack below sp_top; returns
 * RAX, or ~0 if it stopped before its return; *n = instructions. */
u64 CALL(void *fn, const u64 *a, u64 *sp_top, u64 *n)
{
	emu_init(&em, &id_ops, 0);
	em.cpu.cr0 = 0x80000033; /* PG NE ET MP PE */
#ifdef EMU_CR4_OSFXSR
	em.cpu.cr4 = EMU_CR4_OSFXSR;
#endif
	u64 sp = (u64)(sp_top - 3);
	*(u64 *)sp = SENTINEL;
	em.cpu.gpr[4] = sp;
	em.cpu.gpr[7] = a[0];
	em.cpu.gpr[6] = a[1];
	em.cpu.gpr[2] = a[2];
	em.cpu.gpr[1] = a[3];
	em.cpu.rip = (u64)fn;
	struct emu_result r = emu_run(&em, 0x10000, 1ull << 47, ~0ull);
	*n = r.executed;
	if (r.reason != EMU_STOP_LEFT_REGION || em.cpu.rip != SENTINEL)
		return ~0ull;
	return em.cpu.gpr[0];
}
