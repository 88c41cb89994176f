/* gen.c - random x86-64 instruction sequences for the differential test:
 * a small encoder (prefixes, REX, ModRM/SIB, disp, imm) and one generator
 * per instruction family. Every sequence is a pure function of (seed, idx).
 * Undefined flags (SDM) are tracked per instruction; flag readers are
 * preceded by a CMP when they would read one. Forward branches only. */
#include "gen_internal.h"

#include <string.h>

u64 gen_rand(u64 *st)
{
	u64 z = (*st += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

unsigned gen_rnd(struct g *g, unsigned n) { return (unsigned)(gen_rand(&g->rng) % n); }
int gen_coin(struct g *g, unsigned pct) { return gen_rnd(g, 100) < pct; }
void gen_b(struct g *g, u8 v) { g->s->code[g->s->len++] = v; }
void gen_le(struct g *g, u64 v, int n) { for (int i = 0; i < n; i++) gen_b(g, (u8)(v >> (8 * i))); }

/* Interesting values: edges, small, random. */
u64 gen_val(struct g *g)
{
	static const u64 edge[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
				   0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffull,
				   0x8000000000000000ull, ~0ull, ~1ull};
	switch (gen_rnd(g, 4)) {
	case 0: return edge[gen_rnd(g, 16)];
	case 1: return gen_rnd(g, 64) - 32ull;
	default: return gen_rand(&g->rng);
	}
}

void gen_begin(struct g *g)
{
	struct gen_seq *s = g->s;
	s->off[s->n] = s->len;
	s->undef[s->n] = g->undef;
	s->n++;
}

void gen_item_begin(struct g *g)
{
	g->undef |= g->pend[g->item];
	g->item_insn[g->item] = g->s->n;
	g->item++;
}

void gen_fl(struct g *g, uint32_t def, uint32_t und)
{
	g->undef = (g->undef & ~(def | und)) | und;
}

int gen_wreg(struct g *g) { return wregs[gen_rnd(g, 10)]; }

/* Register operand for size sz; AH..BH (16+n) possible for bytes. */
int gen_reg_for(struct g *g, int sz, int writable)
{
	if (sz == 1 && gen_coin(g, 20))
		return 16 + (int)gen_rnd(g, 4);
	return writable ? gen_wreg(g) : (int)gen_rnd(g, 16);
}

void gen_mem_op(struct g *g, struct op *o, int allow_rip)
{
	memset(o, 0, sizeof(*o));
	o->mem = 1;
	o->index = -1;
	o->dsz = 1;
	o->disp = (int32_t)gen_rnd(g, 256) - 128;
	switch (gen_rnd(g, allow_rip ? 11 : 10)) {
	case 0: o->base = 14; break;
	case 1: o->base = 14; o->dsz = 4; o->disp = (int32_t)gen_rnd(g, 0x1800) - 0x800; break;
	case 2: o->base = 14; o->index = 13; o->scale = (int)gen_rnd(g, 4); break;
	case 3: o->base = 4; o->disp = (int32_t)gen_rnd(g, 192) - 64; break;
	case 4: o->base = 5; o->disp = (int32_t)gen_rnd(g, 192) - 64; break;
	case 5: o->base = -1; o->index = 13; o->scale = (int)gen_rnd(g, 4); o->dsz = 4;
		o->disp = (int32_t)(SANDBOX_BASE + 0x1000 + gen_rnd(g, 0x1000)); break;
	case 6: o->base = 14; o->a32 = 1; break;
	case 7: o->base = 14; o->seg = 0x65; break;
	case 8: o->base = gen_coin(g, 50) ? 6 : 7; break;
	case 9: o->base = 14; o->dsz = gen_coin(g, 50) ? 0 : 1; o->index = gen_coin(g, 50) ? 13 : -1; break;
	default: o->rip = 1; o->target = CODE_BASE + gen_rnd(g, 0x800); break;
	}
}

void gen_reg_op(struct g *g, struct op *o, int sz, int writable)
{
	memset(o, 0, sizeof(*o));
	o->reg = gen_reg_for(g, sz, writable);
}

void gen_rm_op(struct g *g, struct op *o, int sz, int writable, int mem_pct)
{
	if (gen_coin(g, (unsigned)mem_pct))
		gen_mem_op(g, o, !writable);
	else
		gen_reg_op(g, o, sz, writable);
}

int gen_hi8(int r) { return r >= 16; }

/* Encode: legacy prefixes, REX, opcode, ModRM/SIB/disp, immediate. */
void gen_enc(struct g *g, int sz, const u8 *opc, int nopc, int regf, struct op *o,
		int immsz, u64 imm, int pfx, int rexw_forbid)
{
	int rex = 0, high;
	if (o && o->mem && g->no_stack_mem && (o->base == 4 || o->base == 5))
		o->base = 14;
	if (sz == 1 && o && o->mem && (o->base >= 8 || o->index >= 8) && gen_hi8(regf))
		regf -= 16;
	if (sz == 1 && o && !o->mem) {
		int a = gen_hi8(regf), c = gen_hi8(o->reg);
		int ra = (regf >= 4 && regf < 16), rc = (o->reg >= 4 && o->reg < 16);
		if (a && rc)
			regf -= 16;
		if (c && ra)
			o->reg -= 16;
	}
	high = gen_hi8(regf) || (o && !o->mem && gen_hi8(o->reg));
	gen_begin(g);
	if (o && o->mem && o->seg)
		gen_b(g, (u8)o->seg);
	if (sz == 2)
		gen_b(g, 0x66);
	if (o && o->mem && o->a32)
		gen_b(g, 0x67);
	if (pfx & 0xff)
		gen_b(g, (u8)pfx);
	if (pfx >> 8)
		gen_b(g, (u8)(pfx >> 8));
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
	if (g->vex) { /* C4 R'X'B' mmmmm, W vvvv' L pp (the inverted bits) */
		unsigned v = g->vex - 1;
		gen_b(g, 0xc4);
		gen_b(g, (u8)((~rex & 7) << 5 | (v & 31)));
		gen_b(g, (u8)((v >> 12 & 1) << 7 | (~(v >> 8) & 15) << 3 | (v >> 7 & 1) << 2 | (v >> 5 & 3)));
		g->vex = 0;
	} else if ((rex || need_rex) && !high) {
		gen_b(g, (u8)(0x40 | rex));
	}
	for (int i = 0; i < nopc; i++)
		gen_b(g, opc[i]);
	if (o) {
		int rf = (regf >= 16 ? regf - 12 : regf) & 7;
		if (!o->mem) {
			int r = o->reg >= 16 ? o->reg - 12 : o->reg;
			gen_b(g, (u8)(0xc0 | rf << 3 | (r & 7)));
		} else if (o->rip) {
			gen_b(g, (u8)(rf << 3 | 5));
			g->rip_at = (int)g->s->len;
			g->rip_target = o->target;
			gen_le(g, 0, 4);
		} else if (o->base < 0) {
			gen_b(g, (u8)(rf << 3 | 4));
			gen_b(g, (u8)(o->scale << 6 | (o->index & 7) << 3 | 5));
			gen_le(g, (u64)(uint32_t)o->disp, 4);
		} else {
			int dsz = o->dsz;
			if (dsz == 0 && (o->base & 7) == 5)
				dsz = 1;
			int mod = dsz == 0 ? 0 : dsz == 1 ? 1 : 2;
			if (o->index >= 0 || (o->base & 7) == 4) {
				gen_b(g, (u8)(mod << 6 | rf << 3 | 4));
				gen_b(g, (u8)(o->scale << 6 | ((o->index >= 0 ? o->index : 4) & 7) << 3 | (o->base & 7)));
			} else {
				gen_b(g, (u8)(mod << 6 | rf << 3 | (o->base & 7)));
			}
			if (dsz == 1)
				gen_b(g, (u8)o->disp);
			else if (dsz == 4)
				gen_le(g, (u64)(uint32_t)o->disp, 4);
		}
	}
	gen_le(g, imm, immsz);
	if (g->rip_at >= 0) {
		int32_t d = (int32_t)(g->rip_target - (CODE_BASE + g->s->len));
		memcpy(&g->s->code[g->rip_at], &d, 4);
		g->rip_at = -1;
	}
}

int gen_rsize(struct g *g) { static const int sz[] = {1, 2, 4, 8, 4, 8}; return sz[gen_rnd(g, 6)]; }

/* Make sure the flags in `reads` are defined: CMP two random registers. */
void gen_need(struct g *g, uint32_t reads)
{
	if (!(g->undef & reads))
		return;
	struct op o;
	gen_reg_op(g, &o, 8, 0);
	u8 opc = 0x39;
	gen_enc(g, 8, &opc, 1, (int)gen_rnd(g, 16), &o, 0, 0, 0, 0);
	g->undef = 0;
}

uint32_t gen_cc_reads(unsigned cc)
{
	static const uint32_t r[8] = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
	return r[(cc >> 1) & 7];
}

int gen_immsz_for(int sz) { return sz == 1 ? 1 : sz == 2 ? 2 : 4; }

void gen_g_alu(struct g *g)
{
	int sz = gen_rsize(g), op = (int)gen_rnd(g, 8), form = (int)gen_rnd(g, 5);
	struct op o;
	int lock = 0;
	if (op == 2 || op == 3)
		gen_need(g, CF);
	uint32_t und = (op == 1 || op == 4 || op == 6) ? AF : 0;
	if (form == 0 || form == 1) { /* Eb,Gb / Ev,Gv  or  Gb,Eb / Gv,Ev */
		int dir = form;
		gen_rm_op(g, &o, sz, !dir && op != 7, 50);
		if (o.mem && !dir && op != 7 && gen_coin(g, 30))
			lock = 0xf0;
		int r = dir && op != 7 ? gen_reg_for(g, sz, 1) : gen_reg_for(g, sz, 0);
		if ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 8 && o.reg < 16))
			r = r >= 16 ? r - 16 : r;
		if (gen_hi8(r) && !o.mem && o.reg >= 4 && o.reg < 16)
			r -= 16;
		u8 opc = (u8)(op * 8 + (sz == 1 ? 0 : 1) + (dir ? 2 : 0));
		gen_enc(g, sz, &opc, 1, r, &o, 0, 0, lock, 0);
	} else if (form == 2) { /* AL/rAX, imm */
		u8 opc = (u8)(op * 8 + (sz == 1 ? 4 : 5));
		gen_begin(g);
		if (sz == 2) gen_b(g, 0x66);
		if (sz == 8) gen_b(g, 0x48);
		gen_b(g, opc);
		gen_le(g, gen_val(g), gen_immsz_for(sz));
	} else { /* 80/81/83 */
		gen_rm_op(g, &o, sz, op != 7, 50);
		if (o.mem && op != 7 && gen_coin(g, 30))
			lock = 0xf0;
		int ib = sz == 1 || form == 4;
		u8 opc = sz == 1 ? 0x80 : ib ? 0x83 : 0x81;
		gen_enc(g, sz, &opc, 1, op, &o, ib ? 1 : gen_immsz_for(sz), gen_val(g), lock, 0);
	}
	gen_fl(g, ALLF & ~und, und);
}

void g_test(struct g *g)
{
	int sz = gen_rsize(g);
	struct op o;
	gen_rm_op(g, &o, sz, 0, 40);
	if (gen_coin(g, 50)) {
		int r = gen_reg_for(g, sz, 0);
		if (gen_hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
			r -= 16;
		u8 opc = sz == 1 ? 0x84 : 0x85;
		gen_enc(g, sz, &opc, 1, r, &o, 0, 0, 0, 0);
	} else {
		u8 opc = sz == 1 ? 0xf6 : 0xf7;
		gen_enc(g, sz, &opc, 1, (int)gen_rnd(g, 2), &o, gen_immsz_for(sz), gen_val(g), 0, 0);
	}
	gen_fl(g, ALLF & ~AF, AF);
}

/* Group 3/4/5 unary ops: INC DEC NOT NEG MUL IMUL DIV IDIV. */
void g_unary(struct g *g)
{
	int sz = gen_rsize(g), k = (int)gen_rnd(g, 8);
	struct op o;
	if (k >= 6 && gen_coin(g, 70)) { /* make the divide likely to succeed */
		gen_item_begin(g);
		struct op z;
		gen_reg_op(g, &z, 4, 1);
		z.reg = 2;
		u8 x = 0x31; /* xor edx, edx */
		gen_enc(g, 4, &x, 1, 2, &z, 0, 0, 0, 0);
		gen_fl(g, ALLF & ~AF, AF);
		if (k == 7) {
			gen_begin(g);
			if (sz == 8) gen_b(g, 0x48);
			if (sz == 2) gen_b(g, 0x66);
			gen_b(g, sz == 1 ? 0x98 : 0x99); /* CBW (AL->AX) or CWD/CDQ/CQO */
		}
	}
	gen_rm_op(g, &o, sz, k < 4, 40);
	if (k >= 4 && !o.mem && (o.reg == 4 || o.reg == 6 || o.reg == 7 || o.reg == 13 || o.reg == 14 || o.reg == 5))
		o.reg = gen_wreg(g);
	int lock = k < 4 && o.mem && gen_coin(g, 30) ? 0xf0 : 0;
	if (k < 2) {
		u8 opc = sz == 1 ? 0xfe : 0xff;
		gen_enc(g, sz, &opc, 1, k, &o, 0, 0, lock, 0);
		gen_fl(g, ALLF & ~CF, 0);
	} else {
		u8 opc = sz == 1 ? 0xf6 : 0xf7;
		gen_enc(g, sz, &opc, 1, k, &o, 0, 0, lock, 0);
		if (k == 3)
			gen_fl(g, ALLF, 0);
		else if (k == 4 || k == 5)
			gen_fl(g, CF | OF, SF | ZF | AF | PF);
		else if (k >= 6)
			gen_fl(g, 0, ALLF);
	}
}

void g_imul(struct g *g)
{
	int sz = 2 << gen_rnd(g, 3);
	struct op o;
	gen_rm_op(g, &o, sz, 0, 40);
	int r = gen_wreg(g), f = (int)gen_rnd(g, 3);
	if (f == 0) {
		u8 opc[2] = {0x0f, 0xaf};
		gen_enc(g, sz, opc, 2, r, &o, 0, 0, 0, 0);
	} else {
		u8 opc = f == 1 ? 0x6b : 0x69;
		gen_enc(g, sz, &opc, 1, r, &o, f == 1 ? 1 : gen_immsz_for(sz), gen_val(g), 0, 0);
	}
	gen_fl(g, CF | OF, SF | ZF | AF | PF);
}

/* mov cl, n as its own instruction (count for the CL forms). */
void gen_set_cl(struct g *g, unsigned n)
{
	gen_begin(g);
	gen_b(g, 0xb1);
	gen_b(g, (u8)n);
}

void g_shift(struct g *g)
{
	int sz = gen_rsize(g), op = (int)gen_rnd(g, 8), form = (int)gen_rnd(g, 3);
	unsigned n = form == 1 ? 1 : gen_rnd(g, 4) ? gen_rnd(g, 34) : gen_rnd(g, 256), mc;
	struct op o;
	gen_item_begin(g);
	if (op == 2 || op == 3)
		gen_need(g, CF);
	if (form == 2)
		gen_set_cl(g, n);
	gen_rm_op(g, &o, sz, 1, 40);
	u8 opc = form == 0 ? (sz == 1 ? 0xc0 : 0xc1) : form == 1 ? (sz == 1 ? 0xd0 : 0xd1)
						 : (sz == 1 ? 0xd2 : 0xd3);
	gen_enc(g, sz, &opc, 1, op, &o, form == 0 ? 1 : 0, n, 0, 0);
	mc = n & (sz == 8 ? 63 : 31);
	if (!mc)
		return;
	uint32_t ofu = mc == 1 ? 0 : OF;
	if (op < 4) {
		if (op >= 2 && sz < 4 && mc % (sz * 8 + 1) == 0)
			gen_fl(g, 0, OF);
		else
			gen_fl(g, (CF | OF) & ~ofu, ofu);
	} else {
		uint32_t cfu = (op == 4 || op == 6 || op == 5) && mc >= (unsigned)sz * 8 ? CF : 0;
		gen_fl(g, (ALLF & ~AF & ~ofu & ~cfu), AF | ofu | cfu);
	}
}

void g_shd(struct g *g)
{
	int sz = 2 << gen_rnd(g, 3), cl = gen_coin(g, 50);
	unsigned n = gen_rnd(g, sz == 2 ? 17 : 64), mc = n & (sz == 8 ? 63 : 31);
	struct op o;
	gen_item_begin(g);
	if (cl)
		gen_set_cl(g, n);
	gen_rm_op(g, &o, sz, 1, 40);
	u8 opc[2] = {0x0f, (u8)((gen_coin(g, 50) ? 0xa4 : 0xac) + cl)};
	gen_enc(g, sz, opc, 2, (int)gen_rnd(g, 16), &o, cl ? 0 : 1, n, 0, 0);
	if (mc)
		gen_fl(g, ALLF & ~AF & ~(mc == 1 ? 0 : OF), AF | (mc == 1 ? 0 : OF));
}

void g_bt(struct g *g)
{
	int sz = 2 << gen_rnd(g, 3), k = (int)gen_rnd(g, 4), imm = gen_coin(g, 50);
	struct op o;
	gen_item_begin(g);
	gen_rm_op(g, &o, sz, 1, 50);
	int lock = k && o.mem && gen_coin(g, 30) ? 0xf0 : 0;
	if (imm) {
		u8 opc[2] = {0x0f, 0xba};
		gen_enc(g, sz, opc, 2, 4 + k, &o, 1, gen_rnd(g, 256), lock, 0);
	} else {
		int r = gen_wreg(g);
		if (o.mem) { /* keep the bit offset near the base */
			struct op t;
			gen_reg_op(g, &t, 4, 1);
			t.reg = r;
			u8 m = 0xc7;
			gen_enc(g, 8, &m, 1, 0, &t, 4, (u64)(gen_rnd(g, 2048) - 256), 0, 0);
		}
		static const u8 ops[4] = {0xa3, 0xab, 0xb3, 0xbb};
		u8 opc[2] = {0x0f, ops[k]};
		gen_enc(g, sz, opc, 2, r, &o, 0, 0, lock, 0);
	}
	gen_fl(g, CF, OF | SF | AF | PF);
}

void g_bitscan(struct g *g)
{
	int sz = 2 << gen_rnd(g, 3), k = (int)gen_rnd(g, 5);
	struct op o;
	gen_rm_op(g, &o, sz, 0, 40);
	static const u8 ops[5] = {0xbc, 0xbd, 0xbc, 0xbd, 0xb8};
	u8 opc[2] = {0x0f, ops[k]};
	gen_enc(g, sz, opc, 2, gen_wreg(g), &o, 0, 0, k >= 2 ? 0xf3 : 0, 0);
	if (k < 2)
		gen_fl(g, ZF, CF | OF | SF | AF | PF);
	else if (k < 4)
		gen_fl(g, CF | ZF, OF | SF | AF | PF);
	else
		gen_fl(g, ALLF, 0);
}

void g_cc(struct g *g)
{
	unsigned cc = gen_rnd(g, 16);
	struct op o;
	gen_need(g, gen_cc_reads(cc));
	if (gen_coin(g, 50)) {
		gen_rm_op(g, &o, 1, 1, 40);
		u8 opc[2] = {0x0f, (u8)(0x90 + cc)};
		gen_enc(g, 1, opc, 2, 0, &o, 0, 0, 0, 0);
	} else {
		int sz = 2 << gen_rnd(g, 3);
		gen_rm_op(g, &o, sz, 0, 40);
		u8 opc[2] = {0x0f, (u8)(0x40 + cc)};
		gen_enc(g, sz, opc, 2, gen_wreg(g), &o, 0, 0, 0, 0);
	}
}

/* Forward branch over the next 0..2 items. */
void g_jump(struct g *g)
{
	unsigned cc = gen_rnd(g, 16), kind = gen_rnd(g, 6), skip = gen_rnd(g, 3);
	if (kind < 2)
		gen_need(g, gen_cc_reads(cc));
	if (kind == 4) { /* LOOP/LOOPE/LOOPNE/JRCXZ: keep RCX small first */
		gen_begin(g);
		gen_b(g, 0xb9);
		gen_le(g, gen_rnd(g, 3), 4);
		gen_fl(g, 0, 0);
		unsigned lk = gen_rnd(g, 4);
		if (lk < 2)
			gen_need(g, ZF);
		gen_begin(g);
		gen_b(g, (u8)(0xe0 + lk));
	} else {
		gen_begin(g);
		if (kind == 0)
			gen_b(g, (u8)(0x70 + cc));
		else if (kind == 1) {
			gen_b(g, 0x0f);
			gen_b(g, (u8)(0x80 + cc));
		} else
			gen_b(g, kind == 2 || kind == 5 ? 0xeb : 0xe9);
	}
	int size = (kind == 1 || kind == 3) ? 4 : 1;
	g->fix[g->nfix].at = g->s->len;
	g->fix[g->nfix].size = size;
	g->fix[g->nfix].item = g->item + skip;
	g->nfix++;
	gen_le(g, 0, size);
	g->pend[g->item + skip] |= g->undef;
}

/* call +2; jmp over; body (one ALU op); ret  -- or an indirect call. */
void g_call(struct g *g)
{
	int ind = gen_coin(g, 30);
	unsigned at;
	if (ind) { /* lea r11,[rip+2+?]; call r11 */
		gen_begin(g);
		gen_b(g, 0x4c); gen_b(g, 0x8d); gen_b(g, 0x1d);
		at = g->s->len;
		gen_le(g, 0, 4);
		gen_begin(g);
		gen_b(g, 0x41); gen_b(g, 0xff); gen_b(g, 0xd3);
		int32_t d = 5;
		memcpy(&g->s->code[at], &d, 4);
	} else {
		gen_begin(g);
		gen_b(g, 0xe8);
		gen_le(g, 2, 4);
	}
	gen_begin(g);
	gen_b(g, 0xeb);
	at = g->s->len;
	gen_b(g, 0);
	unsigned body = g->s->len;
	g->no_stack_mem = 1;
	gen_g_alu(g);
	g->no_stack_mem = 0;
	gen_begin(g);
	gen_b(g, 0xc3);
	g->s->code[at] = (u8)(g->s->len - body);
}

