/* gen.c - random x86-64 instruction sequences for the differential test:
 * a small encoder (prefixes, REX, ModRM/SIB, disp, imm) and one generator
 * per instruction family. Every sequence is a pure function of (seed, idx).
 * Undefined flags (SDM) are tracked per instruction; flag readers are
 * preceded by a CMP when they would read one. Forward branches only. */
#include "gen.h"

#include <string.h>

typedef uint8_t u8;
typedef uint64_t u64;

enum { CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800 };
#define ALLF (CF | PF | AF | ZF | SF | OF)

static const int wregs[] = {0, 1, 2, 3, 8, 9, 10, 11, 12, 15};

struct op {
	int mem, reg;              /* reg: 0-15, or 16+n for AH..BH */
	int base, index, scale, dsz, rip, a32, seg;
	int32_t disp;
	u64 target;                /* rip-relative target */
};

struct g {
	struct gen_seq *s;
	u64 rng;
	uint32_t undef;
	unsigned item;
	uint32_t pend[MAX_INSNS * 4];
	unsigned item_insn[MAX_INSNS * 4];
	unsigned nfix;
	struct { unsigned at, item; int size; } fix[MAX_INSNS];
	int rip_at, no_stack_mem;  /* pending rip-relative patch; call body */
	u64 rip_target;
};

u64 gen_rand(u64 *st)
{
	u64 z = (*st += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct g *g, unsigned n) { return (unsigned)(gen_rand(&g->rng) % n); }
static int coin(struct g *g, unsigned pct) { return rnd(g, 100) < pct; }
static void b(struct g *g, u8 v) { g->s->code[g->s->len++] = v; }
static void le(struct g *g, u64 v, int n) { for (int i = 0; i < n; i++) b(g, (u8)(v >> (8 * i))); }

/* Interesting values: edges, small, random. */
static u64 val(struct g *g)
{
	static const u64 edge[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
				   0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffull,
				   0x8000000000000000ull, ~0ull, ~1ull};
	switch (rnd(g, 4)) {
	case 0: return edge[rnd(g, 16)];
	case 1: return rnd(g, 64) - 32ull;
	default: return gen_rand(&g->rng);
	}
}

static void begin(struct g *g)
{
	struct gen_seq *s = g->s;
	s->off[s->n] = s->len;
	s->undef[s->n] = g->undef;
	s->n++;
}

static void item_begin(struct g *g)
{
	g->undef |= g->pend[g->item];
	g->item_insn[g->item] = g->s->n;
	g->item++;
}

static void fl(struct g *g, uint32_t def, uint32_t und)
{
	g->undef = (g->undef & ~(def | und)) | und;
}

static int wreg(struct g *g) { return wregs[rnd(g, 10)]; }

/* Register operand for size sz; AH..BH (16+n) possible for bytes. */
static int reg_for(struct g *g, int sz, int writable)
{
	if (sz == 1 && coin(g, 20))
		return 16 + (int)rnd(g, 4);
	return writable ? wreg(g) : (int)rnd(g, 16);
}

static void mem_op(struct g *g, struct op *o, int allow_rip)
{
	memset(o, 0, sizeof(*o));
	o->mem = 1;
	o->index = -1;
	o->dsz = 1;
	o->disp = (int32_t)rnd(g, 256) - 128;
	switch (rnd(g, allow_rip ? 11 : 10)) {
	case 0: o->base = 14; break;
	case 1: o->base = 14; o->dsz = 4; o->disp = (int32_t)rnd(g, 0x1800) - 0x800; break;
	case 2: o->base = 14; o->index = 13; o->scale = (int)rnd(g, 4); break;
	case 3: o->base = 4; o->disp = (int32_t)rnd(g, 192) - 64; break;
	case 4: o->base = 5; o->disp = (int32_t)rnd(g, 192) - 64; break;
	case 5: o->base = -1; o->index = 13; o->scale = (int)rnd(g, 4); o->dsz = 4;
		o->disp = (int32_t)(SANDBOX_BASE + 0x1000 + rnd(g, 0x1000)); break;
	case 6: o->base = 14; o->a32 = 1; break;
	case 7: o->base = 14; o->seg = 0x65; break;
	case 8: o->base = coin(g, 50) ? 6 : 7; break;
	case 9: o->base = 14; o->dsz = coin(g, 50) ? 0 : 1; o->index = coin(g, 50) ? 13 : -1; break;
	default: o->rip = 1; o->target = CODE_BASE + rnd(g, 0x800); break;
	}
}

static void reg_op(struct g *g, struct op *o, int sz, int writable)
{
	memset(o, 0, sizeof(*o));
	o->reg = reg_for(g, sz, writable);
}

static void rm_op(struct g *g, struct op *o, int sz, int writable, int mem_pct)
{
	if (coin(g, (unsigned)mem_pct))
		mem_op(g, o, !writable);
	else
		reg_op(g, o, sz, writable);
}

static int hi8(int r) { return r >= 16; }

/* Encode: legacy prefixes, REX, opcode, ModRM/SIB/disp, immediate. */
static void enc(struct g *g, int sz, const u8 *opc, int nopc, int regf, struct op *o,
		int immsz, u64 imm, int pfx, int rexw_forbid)
{
	int rex = 0, high;
	if (o && o->mem && g->no_stack_mem && (o->base == 4 || o->base == 5))
		o->base = 14;
	if (sz == 1 && o && o->mem && (o->base >= 8 || o->index >= 8) && hi8(regf))
		regf -= 16;
	if (sz == 1 && o && !o->mem) {
		int a = hi8(regf), c = hi8(o->reg);
		int ra = (regf >= 4 && regf < 16), rc = (o->reg >= 4 && o->reg < 16);
		if (a && rc)
			regf -= 16;
		if (c && ra)
			o->reg -= 16;
	}
	high = hi8(regf) || (o && !o->mem && hi8(o->reg));
	begin(g);
	if (o && o->mem && o->seg)
		b(g, (u8)o->seg);
	if (sz == 2)
		b(g, 0x66);
	if (o && o->mem && o->a32)
		b(g, 0x67);
	if (pfx & 0xff)
		b(g, (u8)pfx);
	if (pfx >> 8)
		b(g, (u8)(pfx >> 8));
	if (sz == 8 && !rexw_forbid)
		rex |= 8;
	if (regf >= 8 && regf < 16)
		rex |= 4;
	if (o && o->mem) {
		if (o->index >= 8)
			rex |= 2;
		if (o->base >= 8)
			rex |= 1;
	} else if (o && o->reg >= 8 && o->reg < 16) {
		rex |= 1;
	}
	int need_rex = sz == 1 && ((regf >= 4 && regf < 8) || (o && !o->mem && o->reg >= 4 && o->reg < 8));
	if ((rex || need_rex) && !high)
		b(g, (u8)(0x40 | rex));
	for (int i = 0; i < nopc; i++)
		b(g, opc[i]);
	if (o) {
		int rf = (regf >= 16 ? regf - 12 : regf) & 7;
		if (!o->mem) {
			int r = o->reg >= 16 ? o->reg - 12 : o->reg;
			b(g, (u8)(0xc0 | rf << 3 | (r & 7)));
		} else if (o->rip) {
			b(g, (u8)(rf << 3 | 5));
			g->rip_at = (int)g->s->len;
			g->rip_target = o->target;
			le(g, 0, 4);
		} else if (o->base < 0) {
			b(g, (u8)(rf << 3 | 4));
			b(g, (u8)(o->scale << 6 | (o->index & 7) << 3 | 5));
			le(g, (u64)(uint32_t)o->disp, 4);
		} else {
			int dsz = o->dsz;
			if (dsz == 0 && (o->base & 7) == 5)
				dsz = 1;
			int mod = dsz == 0 ? 0 : dsz == 1 ? 1 : 2;
			if (o->index >= 0 || (o->base & 7) == 4) {
				b(g, (u8)(mod << 6 | rf << 3 | 4));
				b(g, (u8)(o->scale << 6 | ((o->index >= 0 ? o->index : 4) & 7) << 3 | (o->base & 7)));
			} else {
				b(g, (u8)(mod << 6 | rf << 3 | (o->base & 7)));
			}
			if (dsz == 1)
				b(g, (u8)o->disp);
			else if (dsz == 4)
				le(g, (u64)(uint32_t)o->disp, 4);
		}
	}
	le(g, imm, immsz);
	if (g->rip_at >= 0) {
		int32_t d = (int32_t)(g->rip_target - (CODE_BASE + g->s->len));
		memcpy(&g->s->code[g->rip_at], &d, 4);
		g->rip_at = -1;
	}
}

static int rsize(struct g *g) { static const int sz[] = {1, 2, 4, 8, 4, 8}; return sz[rnd(g, 6)]; }

/* Make sure the flags in `reads` are defined: CMP two random registers. */
static void need(struct g *g, uint32_t reads)
{
	if (!(g->undef & reads))
		return;
	struct op o;
	reg_op(g, &o, 8, 0);
	u8 opc = 0x39;
	enc(g, 8, &opc, 1, (int)rnd(g, 16), &o, 0, 0, 0, 0);
	g->undef = 0;
}

static uint32_t cc_reads(unsigned cc)
{
	static const uint32_t r[8] = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
	return r[(cc >> 1) & 7];
}

static int immsz_for(int sz) { return sz == 1 ? 1 : sz == 2 ? 2 : 4; }

static void g_alu(struct g *g)
{
	int sz = rsize(g), op = (int)rnd(g, 8), form = (int)rnd(g, 5);
	struct op o;
	int lock = 0;
	if (op == 2 || op == 3)
		need(g, CF);
	uint32_t und = (op == 1 || op == 4 || op == 6) ? AF : 0;
	if (form == 0 || form == 1) { /* Eb,Gb / Ev,Gv  or  Gb,Eb / Gv,Ev */
		int dir = form;
		rm_op(g, &o, sz, !dir && op != 7, 50);
		if (o.mem && !dir && op != 7 && coin(g, 30))
			lock = 0xf0;
		int r = dir && op != 7 ? reg_for(g, sz, 1) : reg_for(g, sz, 0);
		if ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 8 && o.reg < 16))
			r = r >= 16 ? r - 16 : r;
		if (hi8(r) && !o.mem && o.reg >= 4 && o.reg < 16)
			r -= 16;
		u8 opc = (u8)(op * 8 + (sz == 1 ? 0 : 1) + (dir ? 2 : 0));
		enc(g, sz, &opc, 1, r, &o, 0, 0, lock, 0);
	} else if (form == 2) { /* AL/rAX, imm */
		u8 opc = (u8)(op * 8 + (sz == 1 ? 4 : 5));
		begin(g);
		if (sz == 2) b(g, 0x66);
		if (sz == 8) b(g, 0x48);
		b(g, opc);
		le(g, val(g), immsz_for(sz));
	} else { /* 80/81/83 */
		rm_op(g, &o, sz, op != 7, 50);
		if (o.mem && op != 7 && coin(g, 30))
			lock = 0xf0;
		int ib = sz == 1 || form == 4;
		u8 opc = sz == 1 ? 0x80 : ib ? 0x83 : 0x81;
		enc(g, sz, &opc, 1, op, &o, ib ? 1 : immsz_for(sz), val(g), lock, 0);
	}
	fl(g, ALLF & ~und, und);
}

static void g_test(struct g *g)
{
	int sz = rsize(g);
	struct op o;
	rm_op(g, &o, sz, 0, 40);
	if (coin(g, 50)) {
		int r = reg_for(g, sz, 0);
		if (hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
			r -= 16;
		u8 opc = sz == 1 ? 0x84 : 0x85;
		enc(g, sz, &opc, 1, r, &o, 0, 0, 0, 0);
	} else {
		u8 opc = sz == 1 ? 0xf6 : 0xf7;
		enc(g, sz, &opc, 1, (int)rnd(g, 2), &o, immsz_for(sz), val(g), 0, 0);
	}
	fl(g, ALLF & ~AF, AF);
}

/* Group 3/4/5 unary ops: INC DEC NOT NEG MUL IMUL DIV IDIV. */
static void g_unary(struct g *g)
{
	int sz = rsize(g), k = (int)rnd(g, 8);
	struct op o;
	if (k >= 6 && coin(g, 70)) { /* make the divide likely to succeed */
		item_begin(g);
		struct op z;
		reg_op(g, &z, 4, 1);
		z.reg = 2;
		u8 x = 0x31; /* xor edx, edx */
		enc(g, 4, &x, 1, 2, &z, 0, 0, 0, 0);
		fl(g, ALLF & ~AF, AF);
		if (k == 7) {
			begin(g);
			if (sz == 8) b(g, 0x48);
			if (sz == 2) b(g, 0x66);
			b(g, sz == 1 ? 0x98 : 0x99); /* CBW (AL->AX) or CWD/CDQ/CQO */
		}
	}
	rm_op(g, &o, sz, k < 4, 40);
	if (k >= 4 && !o.mem && (o.reg == 4 || o.reg == 6 || o.reg == 7 || o.reg == 13 || o.reg == 14 || o.reg == 5))
		o.reg = wreg(g);
	int lock = k < 4 && o.mem && coin(g, 30) ? 0xf0 : 0;
	if (k < 2) {
		u8 opc = sz == 1 ? 0xfe : 0xff;
		enc(g, sz, &opc, 1, k, &o, 0, 0, lock, 0);
		fl(g, ALLF & ~CF, 0);
	} else {
		u8 opc = sz == 1 ? 0xf6 : 0xf7;
		enc(g, sz, &opc, 1, k, &o, 0, 0, lock, 0);
		if (k == 3)
			fl(g, ALLF, 0);
		else if (k == 4 || k == 5)
			fl(g, CF | OF, SF | ZF | AF | PF);
		else if (k >= 6)
			fl(g, 0, ALLF);
	}
}

static void g_imul(struct g *g)
{
	int sz = 2 << rnd(g, 3);
	struct op o;
	rm_op(g, &o, sz, 0, 40);
	int r = wreg(g), f = (int)rnd(g, 3);
	if (f == 0) {
		u8 opc[2] = {0x0f, 0xaf};
		enc(g, sz, opc, 2, r, &o, 0, 0, 0, 0);
	} else {
		u8 opc = f == 1 ? 0x6b : 0x69;
		enc(g, sz, &opc, 1, r, &o, f == 1 ? 1 : immsz_for(sz), val(g), 0, 0);
	}
	fl(g, CF | OF, SF | ZF | AF | PF);
}

/* mov cl, n as its own instruction (count for the CL forms). */
static void set_cl(struct g *g, unsigned n)
{
	begin(g);
	b(g, 0xb1);
	b(g, (u8)n);
}

static void g_shift(struct g *g)
{
	int sz = rsize(g), op = (int)rnd(g, 8), form = (int)rnd(g, 3);
	unsigned n = form == 1 ? 1 : rnd(g, 4) ? rnd(g, 34) : rnd(g, 256), mc;
	struct op o;
	item_begin(g);
	if (op == 2 || op == 3)
		need(g, CF);
	if (form == 2)
		set_cl(g, n);
	rm_op(g, &o, sz, 1, 40);
	u8 opc = form == 0 ? (sz == 1 ? 0xc0 : 0xc1) : form == 1 ? (sz == 1 ? 0xd0 : 0xd1)
						 : (sz == 1 ? 0xd2 : 0xd3);
	enc(g, sz, &opc, 1, op, &o, form == 0 ? 1 : 0, n, 0, 0);
	mc = n & (sz == 8 ? 63 : 31);
	if (!mc)
		return;
	uint32_t ofu = mc == 1 ? 0 : OF;
	if (op < 4) {
		if (op >= 2 && sz < 4 && mc % (sz * 8 + 1) == 0)
			fl(g, 0, OF);
		else
			fl(g, (CF | OF) & ~ofu, ofu);
	} else {
		uint32_t cfu = (op == 4 || op == 6 || op == 5) && mc >= (unsigned)sz * 8 ? CF : 0;
		fl(g, (ALLF & ~AF & ~ofu & ~cfu), AF | ofu | cfu);
	}
}

static void g_shd(struct g *g)
{
	int sz = 2 << rnd(g, 3), cl = coin(g, 50);
	unsigned n = rnd(g, sz == 2 ? 17 : 64), mc = n & (sz == 8 ? 63 : 31);
	struct op o;
	item_begin(g);
	if (cl)
		set_cl(g, n);
	rm_op(g, &o, sz, 1, 40);
	u8 opc[2] = {0x0f, (u8)((coin(g, 50) ? 0xa4 : 0xac) + cl)};
	enc(g, sz, opc, 2, (int)rnd(g, 16), &o, cl ? 0 : 1, n, 0, 0);
	if (mc)
		fl(g, ALLF & ~AF & ~(mc == 1 ? 0 : OF), AF | (mc == 1 ? 0 : OF));
}

static void g_bt(struct g *g)
{
	int sz = 2 << rnd(g, 3), k = (int)rnd(g, 4), imm = coin(g, 50);
	struct op o;
	item_begin(g);
	rm_op(g, &o, sz, 1, 50);
	int lock = k && o.mem && coin(g, 30) ? 0xf0 : 0;
	if (imm) {
		u8 opc[2] = {0x0f, 0xba};
		enc(g, sz, opc, 2, 4 + k, &o, 1, rnd(g, 256), lock, 0);
	} else {
		int r = wreg(g);
		if (o.mem) { /* keep the bit offset near the base */
			struct op t;
			reg_op(g, &t, 4, 1);
			t.reg = r;
			u8 m = 0xc7;
			enc(g, 8, &m, 1, 0, &t, 4, (u64)(rnd(g, 2048) - 256), 0, 0);
		}
		static const u8 ops[4] = {0xa3, 0xab, 0xb3, 0xbb};
		u8 opc[2] = {0x0f, ops[k]};
		enc(g, sz, opc, 2, r, &o, 0, 0, lock, 0);
	}
	fl(g, CF, OF | SF | AF | PF);
}

static void g_bitscan(struct g *g)
{
	int sz = 2 << rnd(g, 3), k = (int)rnd(g, 5);
	struct op o;
	rm_op(g, &o, sz, 0, 40);
	static const u8 ops[5] = {0xbc, 0xbd, 0xbc, 0xbd, 0xb8};
	u8 opc[2] = {0x0f, ops[k]};
	enc(g, sz, opc, 2, wreg(g), &o, 0, 0, k >= 2 ? 0xf3 : 0, 0);
	if (k < 2)
		fl(g, ZF, CF | OF | SF | AF | PF);
	else if (k < 4)
		fl(g, CF | ZF, OF | SF | AF | PF);
	else
		fl(g, ALLF, 0);
}

static void g_cc(struct g *g)
{
	unsigned cc = rnd(g, 16);
	struct op o;
	need(g, cc_reads(cc));
	if (coin(g, 50)) {
		rm_op(g, &o, 1, 1, 40);
		u8 opc[2] = {0x0f, (u8)(0x90 + cc)};
		enc(g, 1, opc, 2, 0, &o, 0, 0, 0, 0);
	} else {
		int sz = 2 << rnd(g, 3);
		rm_op(g, &o, sz, 0, 40);
		u8 opc[2] = {0x0f, (u8)(0x40 + cc)};
		enc(g, sz, opc, 2, wreg(g), &o, 0, 0, 0, 0);
	}
}

/* Forward branch over the next 0..2 items. */
static void g_jump(struct g *g)
{
	unsigned cc = rnd(g, 16), kind = rnd(g, 6), skip = rnd(g, 3);
	if (kind < 2)
		need(g, cc_reads(cc));
	if (kind == 4) { /* LOOP/LOOPE/LOOPNE/JRCXZ: keep RCX small first */
		begin(g);
		b(g, 0xb9);
		le(g, rnd(g, 3), 4);
		fl(g, 0, 0);
		unsigned lk = rnd(g, 4);
		if (lk < 2)
			need(g, ZF);
		begin(g);
		b(g, (u8)(0xe0 + lk));
	} else {
		begin(g);
		if (kind == 0)
			b(g, (u8)(0x70 + cc));
		else if (kind == 1) {
			b(g, 0x0f);
			b(g, (u8)(0x80 + cc));
		} else
			b(g, kind == 2 || kind == 5 ? 0xeb : 0xe9);
	}
	int size = (kind == 1 || kind == 3) ? 4 : 1;
	g->fix[g->nfix].at = g->s->len;
	g->fix[g->nfix].size = size;
	g->fix[g->nfix].item = g->item + skip;
	g->nfix++;
	le(g, 0, size);
	g->pend[g->item + skip] |= g->undef;
}

/* call +2; jmp over; body (one ALU op); ret  -- or an indirect call. */
static void g_call(struct g *g)
{
	int ind = coin(g, 30);
	unsigned at;
	if (ind) { /* lea r11,[rip+2+?]; call r11 */
		begin(g);
		b(g, 0x4c); b(g, 0x8d); b(g, 0x1d);
		at = g->s->len;
		le(g, 0, 4);
		begin(g);
		b(g, 0x41); b(g, 0xff); b(g, 0xd3);
		int32_t d = 5;
		memcpy(&g->s->code[at], &d, 4);
	} else {
		begin(g);
		b(g, 0xe8);
		le(g, 2, 4);
	}
	begin(g);
	b(g, 0xeb);
	at = g->s->len;
	b(g, 0);
	unsigned body = g->s->len;
	g->no_stack_mem = 1;
	g_alu(g);
	g->no_stack_mem = 0;
	begin(g);
	b(g, 0xc3);
	g->s->code[at] = (u8)(g->s->len - body);
}

static void g_stack(struct g *g)
{
	struct op o;
	switch (rnd(g, 7)) {
	case 0: { int r = (int)rnd(g, 16); begin(g); if (r >= 8) b(g, 0x41); b(g, (u8)(0x50 + (r & 7))); break; }
	case 1: { int r = wreg(g); begin(g); if (r >= 8) b(g, 0x41); b(g, (u8)(0x58 + (r & 7))); break; }
	case 2: begin(g); b(g, 0x6a); b(g, (u8)rnd(g, 256)); break;
	case 3: begin(g); b(g, 0x68); le(g, val(g), 4); break;
	case 4: { u8 opc = 0xff; mem_op(g, &o, 1); enc(g, 8, &opc, 1, 6, &o, 0, 0, 0, 1); break; }
	case 5: { u8 opc = 0x8f; mem_op(g, &o, 0); enc(g, 8, &opc, 1, 0, &o, 0, 0, 0, 1); break; }
	default: { /* 16-bit push/pop pair */
		int r = wreg(g);
		begin(g); b(g, 0x66); if (r >= 8) b(g, 0x41); b(g, (u8)(0x50 + (r & 7)));
		r = wreg(g);
		begin(g); b(g, 0x66); if (r >= 8) b(g, 0x41); b(g, (u8)(0x58 + (r & 7)));
	}
	}
}

static void g_flags(struct g *g)
{
	switch (rnd(g, 8)) {
	case 0: need(g, ALLF); begin(g); b(g, 0x9c); break;          /* PUSHF */
	case 1: /* push imm; popf */
		begin(g); b(g, 0x68); le(g, (val(g) & (ALLF | 0x400)) | 0x202, 4);
		begin(g); b(g, 0x9d); fl(g, ALLF, 0); break;
	case 2: need(g, ALLF & ~OF); begin(g); b(g, 0x9f); break;    /* LAHF */
	case 3: begin(g); b(g, 0x9e); fl(g, ALLF & ~OF, 0); break;   /* SAHF */
	case 4: need(g, CF); begin(g); b(g, 0xf5); break;            /* CMC */
	case 5: begin(g); b(g, coin(g, 50) ? 0xf8 : 0xf9); fl(g, CF, 0); break;
	default: begin(g); b(g, coin(g, 70) ? 0xfc : 0xfd); break;   /* CLD/STD */
	}
}

static void g_enter(struct g *g)
{
	if (coin(g, 50)) {
		begin(g); b(g, 0xc8); le(g, rnd(g, 64), 2); b(g, (u8)rnd(g, 4));
	} else {
		begin(g); b(g, 0xc9);
	}
}

static void g_xchg(struct g *g)
{
	int sz = rsize(g), k = (int)rnd(g, 4);
	struct op o;
	if (k == 3) { /* 90+r */
		int r = wreg(g);
		begin(g);
		if (sz == 2) b(g, 0x66);
		if (sz == 8 || r >= 8) b(g, (u8)(0x40 | (sz == 8 ? 8 : 0) | (r >= 8)));
		b(g, (u8)(0x90 + (r & 7)));
		return;
	}
	rm_op(g, &o, sz, 1, 50);
	int r = reg_for(g, sz, 1);
	if (hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
		r -= 16;
	if (!o.mem && hi8(o.reg) && r >= 4)
		o.reg -= 16;
	int lock = o.mem && coin(g, 30) ? 0xf0 : 0;
	if (k == 0) {
		u8 opc = sz == 1 ? 0x86 : 0x87;
		enc(g, sz, &opc, 1, r, &o, 0, 0, lock, 0);
	} else {
		u8 opc[2] = {0x0f, (u8)((k == 1 ? 0xb0 : 0xc0) + (sz != 1))};
		enc(g, sz, opc, 2, r, &o, 0, 0, lock, 0);
		fl(g, ALLF, 0);
	}
}

static void g_cx8(struct g *g)
{
	struct op o;
	int w = coin(g, 50);
	item_begin(g);
	if (coin(g, 50)) { /* mov rax/rdx from the operand so it may succeed */
		begin(g); b(g, 0x49); b(g, 0x8b); b(g, 0x46); b(g, 0x40); /* mov rax,[r14+0x40] */
		begin(g); b(g, 0x49); b(g, 0x8b); b(g, 0x56); b(g, 0x48); /* mov rdx,[r14+0x48] */
	}
	memset(&o, 0, sizeof(o));
	o.mem = 1; o.base = 14; o.index = -1; o.dsz = 1;
	o.disp = coin(g, 50) ? 0x40 : (int32_t)(rnd(g, 8) * 16) - 64;
	int lock = coin(g, 50) ? 0xf0 : 0;
	u8 opc[2] = {0x0f, 0xc7};
	enc(g, w ? 8 : 4, opc, 2, 1, &o, 0, 0, lock, 0);
	fl(g, ZF, 0);
}

static void g_move(struct g *g)
{
	int sz = rsize(g);
	struct op o;
	switch (rnd(g, 10)) {
	case 0: case 1: { /* 88/89/8A/8B */
		int dir = coin(g, 50);
		rm_op(g, &o, sz, !dir, 50);
		int r = reg_for(g, sz, dir);
		if (hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
			r -= 16;
		if (!o.mem && hi8(o.reg) && r >= 4)
			o.reg -= 16;
		u8 opc = (u8)(0x88 + (sz != 1) + 2 * dir);
		enc(g, sz, &opc, 1, r, &o, 0, 0, 0, 0);
		break;
	}
	case 2: { u8 opc = sz == 1 ? 0xc6 : 0xc7; rm_op(g, &o, sz, 1, 60);
		enc(g, sz, &opc, 1, 0, &o, immsz_for(sz), val(g), 0, 0); break; }
	case 3: { /* B0+r / B8+r */
		int r = wreg(g);
		begin(g);
		if (sz == 2) b(g, 0x66);
		if (sz == 8 || r >= 8) b(g, (u8)(0x40 | (sz == 8 ? 8 : 0) | (r >= 8)));
		b(g, (u8)((sz == 1 ? 0xb0 : 0xb8) + (r & 7)));
		le(g, val(g), sz);
		break;
	}
	case 4: { /* MOVZX/MOVSX */
		int s8 = coin(g, 50), dsz = 2 << rnd(g, 3);
		rm_op(g, &o, s8 ? 1 : 2, 0, 40);
		if (!o.mem && s8 && o.reg >= 4 && o.reg < 8)
			o.reg += 12; /* encoded 4-7: AH..BH unless a REX is needed */
		if (!o.mem && hi8(o.reg) && (dsz == 8 || o.reg >= 16))
			o.reg = o.reg - 16;
		u8 opc[2] = {0x0f, (u8)((coin(g, 50) ? 0xb6 : 0xbe) + !s8)};
		enc(g, dsz, opc, 2, wreg(g), &o, 0, 0, 0, 0);
		break;
	}
	case 5: { u8 opc = 0x63; rm_op(g, &o, 4, 0, 40); enc(g, coin(g, 80) ? 8 : 4, &opc, 1, wreg(g), &o, 0, 0, 0, 0); break; }
	case 6: { u8 opc = 0x8d; mem_op(g, &o, 1); if (sz == 1) sz = 8;
		o.base = o.base < 0 ? o.base : (int)rnd(g, 16);
		enc(g, sz, &opc, 1, wreg(g), &o, 0, 0, 0, 0); break; }
	case 7: { /* moffs */
		int st = coin(g, 50), a32 = coin(g, 30);
		begin(g);
		if (sz == 2) b(g, 0x66);
		if (a32) b(g, 0x67);
		if (sz == 8) b(g, 0x48);
		b(g, (u8)((st ? 0xa2 : 0xa0) + (sz != 1)));
		le(g, SANDBOX_BASE + 0x1000 + rnd(g, 0x1000), a32 ? 4 : 8);
		break;
	}
	case 8: { /* CBW family / BSWAP */
		begin(g);
		if (coin(g, 50)) {
			if (sz == 2) b(g, 0x66);
			if (sz == 8) b(g, 0x48);
			b(g, coin(g, 50) ? 0x98 : 0x99);
		} else {
			int r = wreg(g), w = coin(g, 50);
			if (w || r >= 8) b(g, (u8)(0x40 | (w ? 8 : 0) | (r >= 8)));
			b(g, 0x0f);
			b(g, (u8)(0xc8 + (r & 7)));
		}
		break;
	}
	default: { /* XLAT with RBX near the data */
		begin(g); b(g, 0x49); b(g, 0x8d); b(g, 0x5e); b(g, (u8)rnd(g, 128)); /* lea rbx,[r14+d8] */
		begin(g); b(g, 0xd7);
	}
	}
}

static void g_string(struct g *g)
{
	static const u8 ops[5] = {0xa4, 0xaa, 0xac, 0xa6, 0xae};
	int k = (int)rnd(g, 5), sz = rsize(g), rep = (int)rnd(g, 3);
	unsigned n = rnd(g, 12);
	item_begin(g);
	if (rep) {
		begin(g); b(g, 0xb9); le(g, n, 4); /* mov ecx, n */
	}
	begin(g);
	if (sz == 2) b(g, 0x66);
	if (rep) b(g, rep == 1 ? 0xf3 : 0xf2);
	if (sz == 8) b(g, 0x48);
	b(g, (u8)(ops[k] + (sz != 1)));
	if (k >= 3 && (!rep || n))
		fl(g, ALLF, 0);
}

static void g_nop(struct g *g)
{
	begin(g);
	switch (rnd(g, 5)) {
	case 0: b(g, 0x90); break;
	case 1: b(g, 0x66); b(g, 0x90); break;
	case 2: b(g, 0xf3); b(g, 0x90); break;
	case 3: b(g, 0x0f); b(g, 0x1f); b(g, 0x44); b(g, 0x00); b(g, 0x00); break;
	default: b(g, 0xf3); b(g, 0x0f); b(g, 0x1e); b(g, 0xfa); break;
	}
}

typedef void (*gen_fn)(struct g *);
static const struct { gen_fn fn; unsigned w; } gens[] = {
	{g_alu, 20}, {g_test, 4}, {g_unary, 10}, {g_imul, 4}, {g_shift, 10},
	{g_shd, 4}, {g_bt, 4}, {g_bitscan, 4}, {g_cc, 6}, {g_jump, 5}, {g_call, 2},
	{g_stack, 6}, {g_flags, 5}, {g_enter, 2}, {g_xchg, 6}, {g_cx8, 2},
	{g_move, 14}, {g_string, 6}, {g_nop, 2},
};

static void init_state(struct g *g)
{
	struct gen_seq *s = g->s;
	for (int i = 0; i < 16; i++)
		s->gpr[i] = val(g);
	s->gpr[4] = SANDBOX_BASE + 0x3800;
	s->gpr[5] = SANDBOX_BASE + 0x3a00 + rnd(g, 0x100);
	s->gpr[6] = SANDBOX_BASE + 0x1800 + rnd(g, 0x400);
	s->gpr[7] = SANDBOX_BASE + 0x2000 + rnd(g, 0x400);
	s->gpr[13] = rnd(g, 0x40);
	s->gpr[14] = SANDBOX_BASE + 0x1000;
	s->rflags = 0x202 | (gen_rand(&g->rng) & ALLF);
}

void gen_sequence(struct gen_seq *s, u64 seed, u64 idx)
{
	static struct g g;
	unsigned total = 0, items;
	memset(&g, 0, sizeof(g));
	g.s = s;
	g.rip_at = -1;
	g.rng = seed * 0x2545f4914f6cdd1dull + idx;
	gen_rand(&g.rng);
	s->len = s->n = 0;
	init_state(&g);
	items = 1 + rnd(&g, 12);
	for (unsigned i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		total += gens[i].w;
	for (unsigned it = 0; it < items && s->n < MAX_INSNS - 12 && s->len < 1800; it++) {
		unsigned r = rnd(&g, total), i = 0;
		while (r >= gens[i].w)
			r -= gens[i++].w;
		unsigned before = g.item;
		item_begin(&g);
		gens[i].fn(&g);
		(void)before;
	}
	g.undef |= g.pend[g.item];
	for (unsigned k = g.item + 1; k < MAX_INSNS * 4; k++)
		g.undef |= g.pend[k];
	s->off[s->n] = s->len;
	s->undef[s->n] = g.undef;
	for (unsigned f = 0; f < g.nfix; f++) {
		unsigned t = g.fix[f].item < g.item ? g.item_insn[g.fix[f].item] : s->n;
		int64_t d = (int64_t)s->off[t] - (int64_t)(g.fix[f].at + g.fix[f].size);
		memcpy(&s->code[g.fix[f].at], &d, (size_t)g.fix[f].size);
	}
}
