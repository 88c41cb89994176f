/* run.c - the public entry points: initialisation, cache flush and the run
 * loop (fetch a cached decoded instruction, call its handler, commit RIP).
 * A cache slot is trusted without looking at memory while its generation
 * is current: the generation is bumped at every run and by every write to
 * a page holding cached code (see mem.c).
 * Handlers only change state when they succeed, so a stop leaves RIP at the
 * instruction that stopped. No interrupts, single-stepping or debug
 * registers are modelled: the hypervisor handles those between runs. */
#include "emu_internal.h"

void emu_flush(struct emu *e)
{
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
			e->tlb[k][i].tag = 1;
	for (unsigned i = 0; i < EMU_CODE_PAGES; i++)
		e->code_page[i] = 1;
	for (unsigned i = 0; i < EMU_ICACHE_SIZE; i++) {
		e->icache[i].len = 0;
		e->icache[i].gen = 0;
	}
	emu_bump_gen(e);
}

/* Forget cached translations only (the caller's mappings may have changed); decoded
 * instructions stay: the next run re-verifies them against memory before trusting them. */
void emu_flush_tlb(struct emu *e)
{
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
			e->tlb[k][i].tag = 1;
}

void emu_init(struct emu *e, const struct emu_mem_ops *ops, void *ctx)
{
	u8 *p = (u8 *)&e->cpu;
	for (size_t i = 0; i < sizeof(e->cpu); i++)
		p[i] = 0;
	e->ops = ops;
	e->ctx = ctx;
	e->tlb_cpl = 0;
	e->gen = 1;
	emu_set_rflags(e, 2);
	emu_flush(e);
}

struct emu_result emu_run(struct emu *e, u64 start, u64 end, u64 budget)
{
	struct emu_cpu *c = &e->cpu;
	const struct emu_insn *in = 0;
	__builtin_memset(&e->res, 0, sizeof(e->res));
	if (e->tlb_cpl != c->cpl) { /* TLB entries carry the old privilege */
		emu_flush(e);
		e->tlb_cpl = c->cpl;
	}
	e->budget = budget;
	e->cas_retries = 0;
	emu_bump_gen(e); /* memory may have changed since the last run */
	for (;;) {
		u64 rip = c->rip;
		if (rip - start >= end - start) {
			e->res.reason = EMU_STOP_LEFT_REGION;
			break;
		}
		if (!e->budget) {
			e->res.reason = EMU_STOP_BUDGET;
			break;
		}
		in = &e->icache[rip & (EMU_ICACHE_SIZE - 1)];
		/* fast path: decoded (or byte-verified) in this generation */
		if (in->gen != e->gen || in->rip != rip) {
			if (emu_fetch(e, &in))
				break;
		}
		e->next_rip = rip + in->len;
		int st = in->fn(e, in);
		if (st) {
			if (st == EMU_RETRY)
				continue;
			if (e->res.reason == EMU_STOP_FAULT) {
				e->res.len = in->len;
				e->res.nbytes = in->len;
				__builtin_memcpy(e->res.bytes, in->raw, 15);
			}
			break;
		}
		c->rip = e->next_rip;
		e->budget--;
	}
	e->res.executed = budget - e->budget;
	return e->res;
}

const char *emu_stop_name(enum emu_stop s)
{
	static const char *const n[] = {"left-region", "budget", "fault",
					"hypervisor", "unsupported"};
	return (unsigned)s < 5 ? n[s] : "?";
}

const char *emu_exit_name(enum emu_exit x)
{
	static const char *const n[EMU_X_COUNT] = {
		"none", "io", "hlt", "cli", "sti", "mov-cr", "mov-dr", "int",
		"int3", "int1", "iret", "syscall", "sysret", "sysenter", "cpuid",
		"rdmsr", "wrmsr", "rdtsc", "rdpmc", "system", "far", "seg",
		"clts", "invd"};
	return (unsigned)x < EMU_X_COUNT ? n[x] : "?";
}
