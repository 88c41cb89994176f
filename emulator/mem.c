/* mem.c - memory layer: canonical-address checks, the software TLBs (one
 * direct-mapped table per access kind, the read and write entries of a page
 * side by side, filled from map_page with the CPL's
 * user/supervisor bit, so a hit needs no permission check; a tag carries a
 * TLB epoch so a flush is one increment), the callback slow path, and the
 * code-frame set: the host pages (frames) that hold bytes of cached traces.
 * No write-TLB entry ever points into a code frame, so every write to code,
 * through any linear alias, takes the slow path, which bumps the trace
 * generation. No paging: the callbacks translate. */
#include "emu_internal.h"

static bool canonical(u64 a)
{
	return (u64)((i64)(a << 16) >> 16) == a;
}

static u32 user(const struct emu *e)
{
	return e->cpu.cpl == 3 ? EMU_ACC_USER : 0;
}

/* New trace generation; on wrap-around every trace is invalidated so that
 * an old generation number can never match again. If a trace is running, the
 * decodes after the running one may be stale: they become "resync" stops and
 * the trace (named by its end marker, the decode of length 0) is dropped. */
void emu_bump_gen(struct emu *e)
{
	struct emu_insn *in = (struct emu_insn *)e->at;
	if (in && in->len) {
		while ((++in)->len) /* the end marker has length 0 */
			in->fn = emu_op_resync;
		((struct emu_trace *)in->imm)->rip = 1;
	}
	if (++e->gen == 0) {
		for (unsigned i = 0; i < EMU_TRACES; i++)
			e->traces[i].gen = e->traces[i].inside = 0;
		e->gen = 1;
	}
}

/* Forget the entries of TLB k (0 read, 1 write, 2 fetch). */
void emu_tlb_flush(struct emu *e, unsigned k)
{
	if (++e->tlb_epoch[k] < 4096)
		return;
	for (unsigned i = 0; i < (k == 2 ? EMU_ITLB_SIZE : EMU_TLB_SIZE); i++)
		*(k == 2 ? &e->itlb[i].tag : &e->tlb[i][k].tag) = 0;
	e->tlb_epoch[k] = 1;
}

/* The slot holding v among the four where frame f may be, or NULL. */
static u64 *frame_slot(struct emu *e, u64 f, u64 v)
{
	for (unsigned j = 0; j < 4; j++) {
		u64 *s = &e->frames[((f >> 12) + j) & (EMU_FRAMES - 1)];
		if (*s == v)
			return s;
	}
	return 0;
}

/* A trace about to become valid holds bytes of frame f (0: a frame map_page
 * did not name, e.g. fetched through access()). From now on no write may go
 * through the write TLB to it: those already there are flushed. */
void emu_mark_code(struct emu *e, u64 f)
{
	if (!f) {
		if (!e->code_unknown)
			emu_tlb_flush(e, 1);
		e->code_unknown = true;
		return;
	}
	if (frame_slot(e, f, f))
		return;
	u64 *s = frame_slot(e, f, 0);
	if (!s) { /* four frames share the probe window: forget one, re-verify all traces */
		s = &e->frames[(f >> 12) & (EMU_FRAMES - 1)];
		emu_bump_gen(e);
	}
	*s = f;
	emu_tlb_flush(e, 1);
}

void emu_code_written(struct emu *e, const void *host_page)
{
	if (host_page && frame_slot(e, (u64)host_page, (u64)host_page))
		emu_bump_gen(e);
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

/* Enabled data breakpoints (DR7 L/G, R/W 01 writes, 11 reads and writes;
 * LEN 00/01/11/10 = 1/2/4/8 bytes, address aligned down to it) that
 * [la, la+size) touches with kind (SDM "Breakpoint Field Recognition"). */
static u32 bp_data(const struct emu *e, u64 la, u32 size, u32 kind)
{
	static const u8 lens[4] = {1, 2, 8, 4};
	u32 hit = 0;
	for (unsigned n = 0; n < 4; n++) {
		u64 dr7 = e->cpu.dr7, len = lens[(dr7 >> (18 + 4 * n)) & 3], a = e->cpu.dr[n] & ~(len - 1);
		unsigned rw = (dr7 >> (16 + 4 * n)) & 3;
		if (((dr7 >> (2 * n)) & 3) && (rw == 3 || (rw == 1 && (kind & EMU_ACC_WRITE))) &&
		    la < a + len && a < la + size)
			hit |= EMU_DR6_B0 << n;
	}
	return hit;
}

/* TLB miss: ask map_page for the page (kind index k: 0 read, 1 write,
 * 2 fetch). Non-canonical pages are never entered; writes never get an entry
 * for a code frame, nor at all while a trace holds bytes of an unknown frame. */
u8 *emu_tlb_fill(struct emu *e, u64 la, u32 k)
{
	static const u32 kinds[3] = {EMU_ACC_READ, EMU_ACC_WRITE, EMU_ACC_FETCH};
	u64 page = la & ~4095ull;
	if (!e->ops->map_page || !canonical(la) || (k == 1 && e->code_unknown))
		return 0;
	if (k < 2 && e->ac)
		return 0; /* alignment checks: every data access is looked at */
	if (k < 2 && e->stepping && bp_data(e, page, 4096, k ? EMU_ACC_WRITE : EMU_ACC_READ))
		return 0; /* a page with a data breakpoint: every access is checked */
	u8 *h = e->ops->map_page(e->ctx, page, kinds[k] | user(e));
	if (!h || (k == 1 && frame_slot(e, (u64)h, (u64)h)))
		return 0;
	struct emu_tlb_entry *t = k == 2 ? &e->itlb[(la >> 12) & (EMU_ITLB_SIZE - 1)]
					 : &e->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)][k];
	t->tag = page | e->tlb_epoch[k];
	t->addend = (u64)h - page;
	return h + (la & 4095);
}

/* Callback path (SDM "Exception and Interrupt Reference": non-canonical is #GP(0), or
 * #SS(0) for stack references). A write that reaches access() may have hit a
 * code frame (map_page did not vouch for the page): cached traces are
 * re-verified before they run again. */
int emu_mem_slow(struct emu *e, u64 la, void *buf, u32 size, u32 kind, bool ss)
{
	if (!canonical(la) || !canonical(la + size - 1))
		return emu_raise(e, ss ? EMU_EXC_SS : EMU_EXC_GP, true, 0);
	/* SDM "Interrupt 17-Alignment Check Exception (#AC)": a word, doubleword or quadword
	 * not aligned to its size at CPL 3 with CR0.AM and RFLAGS.AC, #AC(0); a fault */
	if (e->ac && kind != EMU_ACC_FETCH && (size == 2 || size == 4 || size == 8) && (la & (size - 1)))
		return emu_raise(e, EMU_EXC_AC, true, 0);
	if ((la & 4095) + size > 4096 && e->ops->map_page) {
		/* split across two pages only if both are directly mapped */
		u32 k = kind == EMU_ACC_READ ? 0 : kind == EMU_ACC_WRITE ? 1 : 2;
		u32 n1 = 4096 - (u32)(la & 4095);
		u8 *p1 = emu_tlb(e, la, n1, k), *p2 = p1 ? emu_tlb(e, la + n1, size - n1, k) : 0;
		if (p1 && p2) {
			__builtin_memcpy(kind == EMU_ACC_WRITE ? p1 : buf, kind == EMU_ACC_WRITE ? buf : p1, n1);
			__builtin_memcpy(kind == EMU_ACC_WRITE ? p2 : (u8 *)buf + n1,
					 kind == EMU_ACC_WRITE ? (u8 *)buf + n1 : p2, size - n1);
			return 0;
		}
	}
	struct emu_fault f = {0};
	if (e->ops->access(e->ctx, la, buf, size, kind | user(e), &f)) {
		e->res.reason = EMU_STOP_FAULT;
		e->res.fault = f;
		return EMU_STOP;
	}
	if (kind == EMU_ACC_WRITE)
		emu_bump_gen(e);
	if (e->stepping && kind != EMU_ACC_FETCH)
		e->db_hits |= bp_data(e, la, size, kind);
	return 0;
}

/* n (1..16) bytes between memory at la and buf. */
int emu_read_n(struct emu *e, u64 la, void *buf, unsigned n, bool ss)
{
	u8 *p = emu_tlb(e, la, n, 0);
	if (p) {
		__builtin_memcpy(buf, p, n);
		return 0;
	}
	return emu_mem_slow(e, la, buf, n, EMU_ACC_READ, ss);
}

int emu_write_n(struct emu *e, u64 la, const void *buf, unsigned n, bool ss)
{
	u8 *p = emu_tlb(e, la, n, 1);
	if (p) {
		__builtin_memcpy(p, buf, n);
		return 0;
	}
	u8 t[16];
	__builtin_memcpy(t, buf, n);
	return emu_mem_slow(e, la, t, n, EMU_ACC_WRITE, ss);
}

/* n bytes of code at la (n not crossing a page) into buf; *frame = the host
 * page they came from, or 0 when they came through access() (16 at a time). */
int emu_fetch(struct emu *e, u64 la, u8 *buf, unsigned n, u64 *frame)
{
	u8 *p = emu_tlb(e, la, n, 2);
	if (p) {
		__builtin_memcpy(buf, p, n);
		*frame = (u64)p - (la & 4095);
		return 0;
	}
	*frame = 0;
	for (unsigned i = 0; i < n; i += 16)
		if (emu_mem_slow(e, la + i, buf + i, n - i < 16 ? n - i : 16, EMU_ACC_FETCH, false))
			return EMU_STOP;
	return 0;
}

/* Effective address with 32-bit addressing and/or an FS/GS base (a is the
 * 64-bit sum of base, index and displacement). */
u64 emu_ea_slow(const struct emu *e, const struct emu_insn *in, u64 a)
{
	if (in->flags & EMU_I_A32)
		a = (u32)a;
	return a + emu_seg(e, in);
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
