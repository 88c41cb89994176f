/* mem.c - memory layer: canonical-address checks, the software TLB (one
 * direct-mapped table per access kind, filled from map_page with the CPL's
 * user/supervisor bit, so a hit needs no permission check), the callback
 * slow path, and instruction fetch through the decoded-instruction cache.
 * Cache entries are re-verified against memory once per run and after any
 * write to a page holding cached code (such pages get no write-TLB entry,
 * so those writes take the slow path). No paging. */
#include "emu_internal.h"

static bool canonical(u64 a)
{
	return (u64)((i64)(a << 16) >> 16) == a;
}

static u32 user(const struct emu *e)
{
	return e->cpu.cpl == 3 ? EMU_ACC_USER : 0;
}

static bool is_code(const struct emu *e, u64 page)
{
	return e->code_page[(page >> 12) & (EMU_CODE_PAGES - 1)] == page;
}

/* Record that cached decodes come from this page: writes to it must go
 * through the slow path (no write-TLB entry) and bump the generation. */
static void mark_code(struct emu *e, u64 la)
{
	u64 page = la & ~4095ull, *t = &e->code_page[(page >> 12) & (EMU_CODE_PAGES - 1)];
	if (*t == page)
		return;
	if (*t != 1)
		emu_bump_gen(e); /* forgetting a code page: re-verify its decodes */
	*t = page;
	struct emu_tlb_entry *w = &e->tlb[1][(page >> 12) & (EMU_TLB_SIZE - 1)];
	if (w->tag == page)
		w->tag = 1;
}

int emu_raise(struct emu *e, u8 vector, bool has_error, u32 error_code)
{
	e->res.reason = EMU_STOP_FAULT;
	e->res.fault.vector = vector;
	e->res.fault.has_error = has_error;
	e->res.fault.error_code = error_code;
	e->res.fault.cr2 = 0;
	return EMU_STOP;
}

/* TLB miss: ask map_page for the page (kind index k: 0 read, 1 write,
 * 2 fetch). Non-canonical pages are never entered. */
u8 *emu_tlb_fill(struct emu *e, u64 la, u32 k)
{
	static const u32 kinds[3] = {EMU_ACC_READ, EMU_ACC_WRITE, EMU_ACC_FETCH};
	u64 page = la & ~4095ull;
	if (!e->ops->map_page || !canonical(la) || (k == 1 && is_code(e, page)))
		return 0;
	u8 *h = e->ops->map_page(e->ctx, page, kinds[k] | user(e));
	if (!h)
		return 0;
	struct emu_tlb_entry *t = &e->tlb[k][(la >> 12) & (EMU_TLB_SIZE - 1)];
	t->tag = page;
	t->host = h;
	return h + (la & 4095);
}

/* Callback path (SDM "Exception and Interrupt Reference": non-canonical is #GP(0), or
 * #SS(0) for stack references). */
int emu_mem_slow(struct emu *e, u64 la, void *buf, u32 size, u32 kind, bool ss)
{
	if (!canonical(la) || !canonical(la + size - 1))
		return emu_raise(e, ss ? EMU_EXC_SS : EMU_EXC_GP, true, 0);
	if ((la & 4095) + size > 4096 && e->ops->map_page) {
		/* split across two pages only if both are directly mapped */
		u32 k = kind == EMU_ACC_READ ? 0 : kind == EMU_ACC_WRITE ? 1 : 2;
		u32 n1 = 4096 - (u32)(la & 4095);
		u8 *p1 = emu_tlb(e, la, n1, k), *p2 = emu_tlb(e, la + n1, size - n1, k);
		if (p1 && p2) {
			u8 *b = buf;
			for (u32 i = 0; i < size; i++) {
				u8 *p = i < n1 ? p1 + i : p2 + (i - n1);
				if (kind == EMU_ACC_WRITE)
					*p = b[i];
				else
					b[i] = *p;
			}
			return 0;
		}
	}
	struct emu_fault f = {0};
	if (e->ops->access(e->ctx, la, buf, size, kind | user(e), &f)) {
		e->res.reason = EMU_STOP_FAULT;
		e->res.fault = f;
		return EMU_STOP;
	}
	if (kind == EMU_ACC_WRITE &&
	    (is_code(e, la & ~4095ull) || is_code(e, (la + size - 1) & ~4095ull)))
		emu_bump_gen(e); /* self-modifying code: re-verify cached decodes */
	return 0;
}

bool emu_cas(u8 *p, unsigned sz, u64 old, u64 v)
{
	const int o = __ATOMIC_SEQ_CST;
	switch (sz) {
	case 1: { u8 x = (u8)old; return __atomic_compare_exchange_n(p, &x, (u8)v, 0, o, o); }
	case 2: { u16 x = (u16)old; return __atomic_compare_exchange_n((u16 *)p, &x, (u16)v, 0, o, o); }
	case 4: { u32 x = (u32)old; return __atomic_compare_exchange_n((u32 *)p, &x, (u32)v, 0, o, o); }
	default: return __atomic_compare_exchange_n((u64 *)p, &old, v, 0, o, o);
	}
}

/* Locked read-modify-write store (SDM "Software Controlled Bus Locking"):
 * compare-and-swap on host memory when the TLB maps it and the operand is
 * aligned; otherwise a plain write through the callbacks. */
int emu_wr_mem_atomic(struct emu *e, u64 la, unsigned sz, u64 old, u64 v, bool ss)
{
	u8 *p = emu_tlb(e, la, sz, 1);
	if (p && !(la & (sz - 1)) && e->cas_retries < 64) {
		if (emu_cas(p, sz, old, v)) {
			e->cas_retries = 0;
			return 0;
		}
		e->cas_retries++; /* bounded: never livelock, e.g. on aliases */
		return EMU_RETRY;
	}
	e->cas_retries = 0;
	return emu_write(e, la, sz, v, ss);
}

/* Byte masks covering the first n bytes of raw[0] and raw[1]. */
static u64 mask0(unsigned n)
{
	return n >= 8 ? ~0ull : (1ull << (n * 8)) - 1;
}

static u64 mask1(unsigned n)
{
	return n <= 8 ? 0 : (1ull << ((n - 8) * 8)) - 1;
}

static void set_raw(struct emu_insn *in, const u8 *p, unsigned avail)
{
	u8 b[16] = {0};
	unsigned n = in->len < avail ? in->len : avail;
	for (unsigned i = 0; i < n; i++)
		b[i] = p[i];
	__builtin_memcpy(in->raw, b, 16);
	in->raw[0] &= mask0(n);
	in->raw[1] &= mask1(n);
}

/* Fetch without a usable host pointer: bytes come in as the decoder asks
 * for them, so only bytes that belong to the instruction are fetched. */
static int fetch_slow(struct emu *e, struct emu_insn *in, u64 rip)
{
	u8 buf[16] = {0};
	unsigned have = 4096 - (unsigned)(rip & 4095), need;
	have = have > 15 ? 15 : have;
	int st = emu_mem_slow(e, rip, buf, have, EMU_ACC_FETCH, false);
	for (;;) {
		if (st)
			return st;
		int r = emu_decode(in, buf, have);
		if (r == 0)
			break;
		need = (unsigned)-r;
		if (need > 15) {
			in->len = 15;
			in->fn = emu_op_toolong;
			break;
		}
		st = emu_mem_slow(e, rip + have, buf + have, need - have,
				  EMU_ACC_FETCH, false);
		have = need;
	}
	if (in->len > have)
		in->len = (u8)have;
	set_raw(in, buf, have);
	mark_code(e, rip);
	mark_code(e, rip + in->len - 1);
	in->rip = rip;
	in->gen = e->gen;
	return 0;
}

/* Decoded-instruction cache miss (direct-mapped, keyed by RIP): reuse the
 * slot if its bytes still match memory, else decode; either way the slot
 * becomes valid for the current generation. */
int emu_fetch(struct emu *e, const struct emu_insn **out)
{
	u64 rip = e->cpu.rip;
	struct emu_insn *in = &e->icache[rip & (EMU_ICACHE_SIZE - 1)];
	u8 *p = emu_tlb(e, rip, 16, 2);
	*out = in;
	if (!p)
		return fetch_slow(e, in, rip);
	u64 w0 = emu_load(p, 8), w1 = emu_load(p + 8, 8);
	mark_code(e, rip);
	if (!in->len || ((w0 ^ in->raw[0]) & mask0(in->len)) || ((w1 ^ in->raw[1]) & mask1(in->len))) {
		if (emu_decode(in, p, 16) < 0) { /* asked past 15 bytes: too long */
			in->len = 15;
			in->fn = emu_op_toolong;
		}
		set_raw(in, p, 16);
	}
	in->rip = rip; /* same bytes decode the same at any RIP */
	in->gen = e->gen;
	return 0;
}
