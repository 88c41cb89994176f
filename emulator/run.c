/* run.c - the public entry points and the run loop. Code runs from traces:
 * runs of up to EMU_TRACE_INSNS decoded instructions (ending at a branch, a
 * stop, a REP string or POPF, or the end of a page) kept in a direct-mapped
 * cache keyed by RIP, their decodes in a pool recycled as a whole when full.
 * A trace is trusted without looking at memory while its generation is
 * current: the generation is bumped at every run and by every write that may
 * hit a code frame (mem.c); a stale trace is compared with memory byte by
 * byte and kept or decoded again. Handlers change state only when they
 * succeed, so a stop leaves RIP at the instruction that stopped. */
#include "emu_internal.h"

void emu_flush(struct emu *e)
{
	for (unsigned k = 0; k < 3; k++) {
		e->tlb_epoch[k] = 4095;
		emu_tlb_flush(e, k);
	}
	for (unsigned i = 0; i < EMU_FRAMES; i++)
		e->frames[i] = 0;
	for (unsigned i = 0; i < EMU_TRACES; i++) {
		e->traces[i].rip = 1;
		e->traces[i].gen = 0;
		e->traces[i].inside = 0;
	}
	e->code_unknown = false;
	emu_bump_gen(e);
}

/* Forget cached translations only (the caller's mappings may have changed); traces stay:
 * the next run re-verifies them against memory before trusting them. */
void emu_flush_tlb(struct emu *e)
{
	for (unsigned k = 0; k < 3; k++)
		emu_tlb_flush(e, k);
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
	e->pool_epoch = 1;
	e->pool_next = e->bytes_next = 0;
	e->edge_map = 0;
	e->edge_mask = e->edge_prev = 0;
	e->ac = false;
	e->again_max = EMU_AGAIN;
	__builtin_memset(&e->cpuid, 0xff, sizeof(e->cpuid));
	e->cpu.fcw = 0x37f;
	e->cpu.mxcsr = 0x1f80;
	e->cpu.mxcsr_mask = 0xffff;
	emu_set_rflags(e, 2);
	emu_flush(e);
}

/* The trace cache is 2-way: the trace at rip lives in one of the two slots
 * of its pair (slot). Returns the slot holding it, else the one to build it
 * in: the first unless that holds the live decodes of another trace. */
static __attribute__((noinline)) struct emu_trace *slot2(struct emu *e, struct emu_trace *a, u64 rip)
{
	struct emu_trace *b = &e->traces[(a - e->traces) ^ 1];
	if (b->rip == rip)
		return b;
	return a->epoch == e->pool_epoch && a->rip != 1 ? b : a;
}

static struct emu_trace *slot(struct emu *e, u64 rip)
{
	struct emu_trace *a = &e->traces[(rip ^ (rip >> 11)) & (EMU_TRACES - 1)];
	return likely(a->rip == rip) ? a : slot2(e, a, rip);
}

/* Make room for one more trace in the pool: when full, recycle all of it;
 * every trace must then be re-verified (and, its decodes being gone,
 * decoded again) before it runs. */
static void reserve(struct emu *e)
{
	if (e->pool_next + EMU_TRACE_INSNS + 1 <= EMU_POOL && e->bytes_next + EMU_TRACE_BYTES + 16 <= EMU_BYTES)
		return;
	e->at = 0; /* between traces: nothing runs */
	emu_bump_gen(e);
	e->pool_next = e->bytes_next = 0;
	if (++e->pool_epoch == 0) {
		for (unsigned i = 0; i < EMU_TRACES; i++)
			e->traces[i].epoch = 0;
		e->pool_epoch = 1;
	}
}

static __attribute__((noinline, cold)) void validate(struct emu *e, struct emu_trace *t, const u64 *frame)
{
	t->gen = 0;
	emu_mark_code(e, frame[0]);
	if (t->rip + t->nbytes - 1 - (t->rip & ~4095ull) >= 4096)
		emu_mark_code(e, frame[1]);
	t->gen = e->gen;
}

/* Flag liveness, backwards over the n decodes of a new trace: flags are
 * live at its end and before anything that may read them or stop; an
 * instruction that sets them all (EMU_I_FW, EMU_I_FM) where they are dead
 * runs as its twin without the flag writes. A partial run swaps the twins
 * back (swap_nf). */
static void flags_dead(struct emu_insn *in, unsigned n)
{
	bool live = true;
	for (unsigned i = n; i-- > 0;) {
		if (in[i].flags & EMU_I_FT)
			continue;
		if (!(in[i].flags & (EMU_I_FW | EMU_I_FM))) {
			live = true;
			continue;
		}
		if (!live) {
			emu_fn f = in[i].fn;
			in[i].fn = *emu_twin(&in[i]), *emu_twin(&in[i]) = f;
			in[i].flags |= EMU_I_NF;
		}
		live = (in[i].flags & EMU_I_FM) != 0; /* before one that may stop, they are */
	}
}

/* The first k decodes run as a part of their trace, which may stop after
 * any of them: each must write its flags (twins swapped with alt, and back
 * afterwards unless a code write dropped the trace). */
static void swap_nf(struct emu_insn *in, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		if ((in[i].flags & EMU_I_NF) && in[i].fn != emu_op_resync) {
			emu_fn f = in[i].fn;
			in[i].fn = *emu_twin(&in[i]), *emu_twin(&in[i]) = f;
		}
}

/* Decode the trace at rip. Bytes come through the fetch TLB a page at a time,
 * or through access() 16 at a time as the decoder asks for them. Only the
 * first instruction may cross into the next page, and only it fetches bytes
 * there (as the CPU would: a later instruction might never run). Returns 0,
 * or EMU_STOP if fetching the first instruction faulted (SDM "Interrupt
 * 14-Page-Fault Exception (#PF)": CR2 = the first byte that could not be fetched). */
static __attribute__((noinline, cold)) int build(struct emu *e, struct emu_trace *t, u64 rip)
{
	u8 buf[EMU_TRACE_BYTES + 16];
	u64 fr[2] = {0, 0};
	unsigned room = 4096 - (unsigned)(rip & 4095), cap = room < EMU_TRACE_BYTES ? room : EMU_TRACE_BYTES;
	unsigned have = cap < 16 ? cap : 16, off = 0, n = 0;
	reserve(e);
	struct emu_insn *in = &e->pool[e->pool_next];
	if (emu_fetch(e, rip, buf, have, &fr[0]))
		return EMU_STOP;
	if (fr[0] && have < cap && !emu_fetch(e, rip + have, buf + have, cap - have, &fr[0]))
		have = cap; /* a host page: all of it at once */
	while (n < EMU_TRACE_INSNS && off < have) {
		int r = emu_decode(e, &in[n], buf + off, have - off, rip + off);
		unsigned need = r < 0 ? (unsigned)-r : in[n].len, more = cap - have < 16 ? cap - have : 16;
		if (need > have - off) {
			if (more) {
				if (emu_fetch(e, rip + have, buf + have, more, &fr[0]))
					return EMU_STOP;
				have += more;
				continue;
			}
			if (n)
				break; /* decode it as the first of its own trace */
			if (r < 0 && need <= 15 && have == room) {
				if (emu_fetch(e, rip + have, buf + have, need - have, &fr[1]))
					return EMU_STOP;
				have = need;
				continue;
			}
			if (r < 0) { /* more than 15 bytes: #GP */
				in[0].fn = emu_op_toolong;
				in[0].flags |= EMU_I_END;
			}
			in[0].len = (u8)(have < 15 ? have : 15); /* or unsupported at the end of a page */
		}
		in[n].off = (u8)off, in[n].idx = (u8)n;
		off += in[n].len;
		if (in[n++].flags & EMU_I_END)
			break;
	}
	in[n] = (struct emu_insn){.fn = emu_op_end, .off = (u8)off, .idx = (u8)n, .imm = (u64)t};
	t->rip = rip;
	t->last = rip + in[n - 1].off;
	t->n = (u8)n, t->nbytes = (u8)off;
	t->ins = in, t->code = (u16)e->bytes_next;
	t->next = t->jump = t;
	t->epoch = e->pool_epoch;
	t->inside = 0;
	t->loop = 0;
	for (unsigned i = 0; i < n; i++) /* a Jcc (anywhere: one not taken goes on) back to rip */
		t->loop |= in[i].imm == rip && in[i].fn == emu_jcc_fast(in[i].ext);
	flags_dead(in, n);
	emu_fuse(in, n);
	__builtin_memcpy(&e->bytes[e->bytes_next], buf, off);
	e->pool_next += n + 1, e->bytes_next += off;
	validate(e, t, fr);
	return 0;
}

/* A stale trace (older generation) at its RIP: reuse it if memory still
 * holds its bytes, else decode it again. */
static __attribute__((noinline, cold)) int lookup(struct emu *e, struct emu_trace *t, u64 rip)
{
	u8 buf[EMU_TRACE_BYTES + 16];
	u64 fr[2] = {0, 0};
	if (t->rip == rip && t->epoch == e->pool_epoch) {
		unsigned n1 = 4096 - (unsigned)(rip & 4095);
		n1 = n1 < t->nbytes ? n1 : t->nbytes;
		if (!emu_fetch(e, rip, buf, n1, &fr[0]) &&
		    (n1 == t->nbytes || !emu_fetch(e, rip + n1, buf + n1, t->nbytes - n1, &fr[1])) &&
		    !__builtin_memcmp(buf, &e->bytes[t->code], t->nbytes)) {
			validate(e, t, fr);
			return 0;
		}
		e->res.reason = EMU_STOP_LEFT_REGION; /* a failed re-read is not a fault yet */
	}
	return build(e, t, rip);
}

/* How many instructions of t may run now: those inside [start, end), at most
 * the budget. The first one is inside (checked by the caller). */
static __attribute__((noinline, cold)) unsigned fit(const struct emu *e, const struct emu_trace *t, u64 start, u64 end)
{
	unsigned n = e->budget < t->n ? (unsigned)e->budget : t->n;
	const struct emu_insn *in = t->ins;
	for (unsigned i = 1; i < n; i++)
		if (t->rip + in[i].off - start >= end - start)
			return i;
	return n;
}

/* A handler stopped the run at in (of the trace at rip): report its bytes. */
static __attribute__((noinline, cold)) void stopped(struct emu *e, const struct emu_trace *t, u64 rip, const struct emu_insn *in)
{
	struct emu_result *r = &e->res;
	e->cpu.rip = rip + in->off;
	if (r->reason == EMU_STOP_BUDGET)
		return;
	r->len = r->reason == EMU_STOP_UNSUPPORTED ? 0 : in->len;
	r->nbytes = in->len;
	__builtin_memcpy(r->bytes, &e->bytes[t->code + in->off], in->len);
}

/* After a chain came back with st at the decode emu.at (k decodes of the
 * trace at rip were charged to the budget): 0 to go on at cpu.rip, or
 * EMU_STOP. */
static __attribute__((noinline, cold)) int finish(struct emu *e, const struct emu_trace *t, u64 rip, unsigned k, int st)
{
	const struct emu_insn *at = e->at;
	switch (st) {
	case EMU_END:
		e->cpu.rip = rip + at->off;
		return 0;
	case EMU_BRANCH:
		e->budget += k - at->idx - 1u;
		return 0;
	case EMU_MODE:
		e->budget += k - at->idx - 1u;
		return EMU_MODE;
	case EMU_RESYNC:
		e->budget += k - at->idx;
		e->cpu.rip = rip + at->off;
		return 0;
	default:
		e->budget += k - at->idx;
		stopped(e, t, rip, at);
		return EMU_STOP;
	}
}

/* Run only the first k decodes of t: an end marker stands in for the next. */
static __attribute__((noinline, cold)) int run_part(struct emu *e, struct emu_trace *t, u64 rip, unsigned k)
{
	struct emu_insn *in = t->ins;
	emu_fn saved = in[k].fn;
	in[k].fn = emu_op_end;
	swap_nf(in, k);
	e->budget -= k;
	e->at = in;
	e->again = 0;
	int st = in->fn(e, in);
	while (st == EMU_RETRY)
		st = e->at->fn(e, e->at);
	swap_nf(in, k);
	if (in[k].fn == emu_op_end && k < t->n)
		in[k].fn = saved; /* unless a code write dropped the trace */
	return finish(e, t, rip, k, st);
}

/* An entry into the trace at rip: one more hit of the edge from the previous entry. */
static __attribute__((noinline, cold)) void edge(struct emu *e, u64 rip)
{
	u32 h = (u32)((rip * 0x9e3779b97f4a7c15UL) >> 32);
	u8 *b = &e->edge_map[(h ^ e->edge_prev) & e->edge_mask];
	*b += *b != 255;
	e->edge_prev = h >> 1;
}

/* The fast loop: whole traces while nothing needs a look after each
 * instruction. Returns EMU_STOP, or EMU_MODE when POPF set TF. */
static int run_traces(struct emu *e, u64 start, u64 end)
{
	struct emu_cpu *c = &e->cpu;
	u64 span = end - start;
	struct emu_trace *t = slot(e, c->rip), **link = &t;
	for (;;) {
		u64 rip = c->rip;
		t = *link;
		if (likely(t->rip == rip && t->inside == e->gen))
			goto run; /* a trace that followed last time, known to be inside [start, end) */
		t = slot(e, rip);
		if (likely(t->rip == rip && t->inside == e->gen)) {
			*link = t; /* a new target of this exit (an indirect branch) */
			goto run;
		}
		if (unlikely(rip - start >= span)) {
			e->res.reason = EMU_STOP_LEFT_REGION;
			return EMU_STOP;
		}
		if (unlikely(t->rip != rip || t->gen != e->gen) && (!e->budget || lookup(e, t, rip))) {
			if (!e->budget)
				e->res.reason = EMU_STOP_BUDGET;
			return EMU_STOP;
		}
		*link = t;
		if (t->last - start < span) {
			if (likely(!e->edge_map))
				t->inside = e->gen; /* later entries take the two fast checks above */
			else
				edge(e, rip); /* edge coverage: every entry comes this way */
		} else { /* the region ends inside the trace */
			if (!e->budget) {
				e->res.reason = EMU_STOP_BUDGET;
				return EMU_STOP;
			}
			if (unlikely(e->edge_map))
				edge(e, rip);
			int st = run_part(e, t, rip, fit(e, t, start, end));
			if (st)
				return st;
			link = &t->next;
			continue;
		}
	run:;
		unsigned k = t->n;
		int st;
		if (unlikely(e->budget < k)) {
			if (!e->budget) {
				e->res.reason = EMU_STOP_BUDGET;
				return EMU_STOP;
			}
			if ((st = run_part(e, t, rip, fit(e, t, start, end))))
				return st;
			link = &t->next;
			continue;
		}
		e->budget -= k;
		e->at = t->ins;
		if (unlikely(t->loop)) {
			u32 again = e->again = e->budget < e->again_max ? (u32)e->budget : e->again_max;
			st = t->ins->fn(e, t->ins);
			e->budget -= again - e->again; /* what its passes after the first ran */
			e->again = 0;
		} else {
			st = t->ins->fn(e, t->ins);
		}
		if (likely(st == EMU_END)) {
			c->rip = rip + e->at->off;
			link = &t->next;
		} else if (likely(st == EMU_BRANCH)) {
			e->budget += k - e->at->idx - 1u;
			link = &t->jump;
		} else {
			while (st == EMU_RETRY)
				st = e->at->fn(e, e->at);
			if ((st = finish(e, t, rip, k, st)))
				return st;
			link = &t->next;
		}
	}
}

/* Alignment checks on or off (POPF at CPL 3 changes RFLAGS.AC, the run starts over here): on,
 * the data TLBs are empty and stay so (emu_tlb_fill). */
static void set_ac(struct emu *e)
{
	bool ac = e->cpu.cpl == 3 && (e->cpu.cr0 & EMU_CR0_AM) && (emu_get_rflags(e) & EMU_AC);
	if (ac && !e->ac) {
		emu_tlb_flush(e, 0);
		emu_tlb_flush(e, 1);
	}
	e->ac = ac;
}

/* Instruction breakpoints on addr (SDM "Instruction-Breakpoint Exception Condition"):
 * DR7 L/G enabled, R/W = 00. */
static u32 bp_exec(const struct emu *e, u64 addr)
{
	u32 hit = 0;
	for (unsigned n = 0; n < 4; n++)
		if (((e->cpu.dr7 >> (2 * n)) & 3) && !((e->cpu.dr7 >> (16 + 4 * n)) & 3) && e->cpu.dr[n] == addr)
			hit |= EMU_DR6_B0 << n;
	return hit;
}

static bool stepping(const struct emu *e)
{
	return (e->cpu.rflags_sys & (EMU_TF | EMU_RF)) || e->cpu.mov_ss || (e->cpu.dr7 & 0xff);
}

static int debug_stop(struct emu *e, u32 dr6)
{
	e->res.reason = EMU_STOP_DEBUG;
	e->res.dr6 = dr6;
	return EMU_STOP;
}

/* One instruction at a time (one REP iteration at a time), for single-step
 * traps, breakpoints and RF (SDM "Debug Exception Conditions"): an instruction
 * breakpoint before the instruction unless RF or MOV SS; after it, if it
 * retired, a single-step trap if TF was set when it began, the data
 * breakpoints it hit and what MOV SS held. An instruction that faults gets no
 * trap. A trap after a REP iteration that was not the last leaves RF = 1, the
 * value the CPU pushes for it (SDM "Instruction-Breakpoint Exception
 * Condition"). Returns EMU_STOP, or EMU_MODE when nothing needs stepping any more. */
static int run_steps(struct emu *e, u64 start, u64 end)
{
	struct emu_cpu *c = &e->cpu;
	for (;;) {
		u64 rip = c->rip, f = c->rflags_sys, left = e->budget;
		set_ac(e);
		if (!stepping(e))
			return EMU_MODE;
		if (rip - start >= end - start) {
			e->res.reason = EMU_STOP_LEFT_REGION;
			return EMU_STOP;
		}
		if (!left) {
			e->res.reason = EMU_STOP_BUDGET;
			return EMU_STOP;
		}
		struct emu_trace *t = slot(e, rip);
		if ((t->rip != rip || t->gen != e->gen) && lookup(e, t, rip))
			return EMU_STOP;
		u32 dr6 = (f & EMU_RF) || c->mov_ss ? 0 : bp_exec(e, rip);
		if (dr6)
			return debug_stop(e, dr6);
		e->db_hits = 0;
		e->budget = 1; /* a REP string does one iteration */
		int st = run_part(e, t, rip, 1);
		e->budget = left - (1 - e->budget);
		if (st == EMU_STOP && e->res.reason != EMU_STOP_BUDGET)
			return st;
		e->res.reason = EMU_STOP_LEFT_REGION;
		c->rflags_sys &= ~(u64)EMU_RF;
		dr6 = e->db_hits | ((f & EMU_TF) ? EMU_DR6_BS : 0);
		if (c->mov_ss)
			dr6 |= c->pending_dbg, c->pending_dbg = 0, c->mov_ss = false;
		if (dr6 && st == EMU_STOP) /* a trap after a REP iteration but the last: RF pushed as 1 */
			c->rflags_sys |= EMU_RF;
		if (dr6)
			return debug_stop(e, dr6);
	}
}

/* SSE instructions this run: #UD with CR0.EM or without CR4.OSFXSR, else #NM
 * with CR0.TS (SDM "Exceptions Type 4"). */
static u8 fpu_fault(const struct emu_cpu *c)
{
	if ((c->cr0 & EMU_CR0_EM) || !(c->cr4 & EMU_CR4_OSFXSR))
		return EMU_EXC_UD;
	return (c->cr0 & EMU_CR0_TS) ? EMU_EXC_NM : 0;
}

struct emu_result emu_run(struct emu *e, u64 start, u64 end, u64 budget)
{
	struct emu_cpu *c = &e->cpu;
	__builtin_memset(&e->res, 0, sizeof(e->res));
	if (e->tlb_cpl != c->cpl) { /* TLB entries carry the old privilege */
		emu_flush_tlb(e);
		e->tlb_cpl = c->cpl;
	}
	if ((c->dr7 & 0xff) && (e->bp_seen[0] != c->dr[0] || e->bp_seen[1] != c->dr[1] || e->bp_seen[2] != c->dr[2] ||
				e->bp_seen[3] != c->dr[3] || e->bp_seen[4] != c->dr7)) {
		for (unsigned i = 0; i < 4; i++)
			e->bp_seen[i] = c->dr[i];
		e->bp_seen[4] = c->dr7;
		emu_tlb_flush(e, 0); /* data breakpoints: their pages must take the slow path */
		emu_tlb_flush(e, 1);
	}
	e->budget = budget;
	e->cas_retries = 0;
	e->again = 0;
	e->at = 0;
	e->fpu_fault = fpu_fault(c);
	emu_bump_gen(e); /* memory may have changed since the last run */
	e->code_unknown = false;
	c->reg[EMU_ZREG] = 0;
	int st;
	do {
		set_ac(e);
		st = (e->stepping = stepping(e)) ? run_steps(e, start, end) : run_traces(e, start, end);
	} while (st == EMU_MODE);
	e->stepping = false;
	e->at = 0;
	e->res.executed = budget - e->budget;
	return e->res;
}

void emu_set_edges(struct emu *e, u8 *map, u32 size)
{
	bool change = !map != !e->edge_map;
	e->edge_map = map;
	e->edge_mask = map ? size - 1 : 0;
	e->edge_prev = 0;
	e->again_max = map ? 0 : EMU_AGAIN;
	if (change)
		emu_flush(e); /* decodes of conditional branches end their traces only with a map */
}

void emu_set_cpuid(struct emu *e, const struct emu_cpuid *id)
{
	e->cpuid = *id;
	emu_flush(e);
}

const char *emu_stop_name(enum emu_stop s)
{
	static const char *const n[] = {"left-region", "budget", "fault",
					"hypervisor", "unsupported", "debug"};
	return (unsigned)s < 6 ? n[s] : "?";
}

const char *emu_exit_name(enum emu_exit x)
{
	static const char *const n[EMU_X_COUNT] = {
		"none", "io", "hlt", "cli", "sti", "mov-cr", "mov-dr", "int",
		"int3", "int1", "iret", "syscall", "sysret", "sysenter", "cpuid",
		"rdmsr", "wrmsr", "rdtsc", "rdpmc", "system", "far", "seg",
		"clts", "invd", "rdrand", "rdseed", "rdpid", "simd-fp", "x87",
		"avx", "xsave", "simd"};
	return (unsigned)x < EMU_X_COUNT ? n[x] : "?";
}
