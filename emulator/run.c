/* run.c - the public entry points: initialisation, cache flush and the run
 * loop (fetch a cached decoded instruction, call its handler, commit RIP).
 * Handlers only change state when they succeed, so a stop leaves RIP at the
 * instruction that stopped. No interrupts, single-stepping or debug
 * registers are modelled: the hypervisor handles those between runs. */
#include "emu_internal.h"

void emu_flush(struct emu *e)
{
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
			e->tlb[k][i].tag = 1;
	for (unsigned i = 0; i < EMU_ICACHE_SIZE; i++) {
		struct emu_insn *in = &e->icache[i];
		in->len = 0;
		in->rip = 1;
		in->raw[0] = in->raw[1] = 0;
		in->mask[0] = in->mask[1] = ~0ull;
		in->fn = emu_op_redecode;
	}
}

void emu_init(struct emu *e, const struct emu_mem_ops *ops, void *ctx)
{
	u8 *p = (u8 *)&e->cpu;
	for (size_t i = 0; i < sizeof(e->cpu); i++)
		p[i] = 0;
	e->ops = ops;
	e->ctx = ctx;
	e->tlb_cpl = 0;
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
	u64 fpage = 1; /* page of the last fetch and its host mapping */
	const u8 *fhost = 0;
	for (;;) {
		u64 rip = c->rip, off = rip - fpage;
		if (rip - start >= end - start) {
			e->res.reason = EMU_STOP_LEFT_REGION;
			break;
		}
		if (!e->budget) {
			e->res.reason = EMU_STOP_BUDGET;
			break;
		}
		in = &e->icache[rip & (EMU_ICACHE_SIZE - 1)];
		/* fast path: cached decode whose bytes still match memory */
		/* fast path: a cached decode whose bytes match memory is valid at
		 * any RIP (decoding depends on the bytes only); empty slots hold
		 * emu_op_redecode, which decodes on a false hit */
		if (off > 4096 - 16 ||
		    (((emu_load(fhost + off, 8) ^ in->raw[0]) & in->mask[0]) |
		     ((emu_load(fhost + off + 8, 8) ^ in->raw[1]) & in->mask[1]))) {
			if (emu_fetch(e, &in))
				break;
			struct emu_tlb_entry *t = &e->tlb[2][(rip >> 12) & (EMU_TLB_SIZE - 1)];
			fpage = t->tag == (rip & ~4095ull) ? t->tag : 1;
			fhost = t->host;
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
