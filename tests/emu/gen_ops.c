/* gen_ops.c - the second half of the sequence generator: stack, flags,
 * ENTER/LEAVE, XCHG/CMPXCHG/XADD, CMPXCHG8B/16B, moves, string operations,
 * NOPs, the weighted family table and gen_sequence(). */
#include "gen_internal.h"

#include <string.h>

static void g_stack(struct g *g)
{
	struct op o;
	switch (gen_rnd(g, 7)) {
	case 0: { int r = (int)gen_rnd(g, 16); gen_begin(g); if (r >= 8) gen_b(g, 0x41); gen_b(g, (u8)(0x50 + (r & 7))); break; }
	case 1: { int r = gen_wreg(g); gen_begin(g); if (r >= 8) gen_b(g, 0x41); gen_b(g, (u8)(0x58 + (r & 7))); break; }
	case 2: gen_begin(g); gen_b(g, 0x6a); gen_b(g, (u8)gen_rnd(g, 256)); break;
	case 3: gen_begin(g); gen_b(g, 0x68); gen_le(g, gen_val(g), 4); break;
	case 4: { u8 opc = 0xff; gen_mem_op(g, &o, 1); gen_enc(g, 8, &opc, 1, 6, &o, 0, 0, 0, 1); break; }
	case 5: { u8 opc = 0x8f; gen_mem_op(g, &o, 0); gen_enc(g, 8, &opc, 1, 0, &o, 0, 0, 0, 1); break; }
	default: { /* 16-bit push/pop pair */
		int r = gen_wreg(g);
		gen_begin(g); gen_b(g, 0x66); if (r >= 8) gen_b(g, 0x41); gen_b(g, (u8)(0x50 + (r & 7)));
		r = gen_wreg(g);
		gen_begin(g); gen_b(g, 0x66); if (r >= 8) gen_b(g, 0x41); gen_b(g, (u8)(0x58 + (r & 7)));
	}
	}
}

static void g_flags(struct g *g)
{
	switch (gen_rnd(g, 8)) {
	case 0: gen_need(g, ALLF); gen_begin(g); gen_b(g, 0x9c); break;          /* PUSHF */
	case 1: /* push imm; popf */
		gen_begin(g); gen_b(g, 0x68); gen_le(g, (gen_val(g) & (ALLF | 0x400)) | 0x202, 4);
		gen_begin(g); gen_b(g, 0x9d); gen_fl(g, ALLF, 0); break;
	case 2: gen_need(g, ALLF & ~OF); gen_begin(g); gen_b(g, 0x9f); break;    /* LAHF */
	case 3: gen_begin(g); gen_b(g, 0x9e); gen_fl(g, ALLF & ~OF, 0); break;   /* SAHF */
	case 4: gen_need(g, CF); gen_begin(g); gen_b(g, 0xf5); break;            /* CMC */
	case 5: gen_begin(g); gen_b(g, gen_coin(g, 50) ? 0xf8 : 0xf9); gen_fl(g, CF, 0); break;
	default: gen_begin(g); gen_b(g, gen_coin(g, 70) ? 0xfc : 0xfd); break;   /* CLD/STD */
	}
}

static void g_enter(struct g *g)
{
	if (gen_coin(g, 50)) {
		gen_begin(g); gen_b(g, 0xc8); gen_le(g, gen_rnd(g, 64), 2); gen_b(g, (u8)gen_rnd(g, 4));
	} else {
		gen_begin(g); gen_b(g, 0xc9);
	}
}

static void g_xchg(struct g *g)
{
	int sz = gen_rsize(g), k = (int)gen_rnd(g, 4);
	struct op o;
	if (k == 3) { /* 90+r */
		int r = gen_wreg(g);
		gen_begin(g);
		if (sz == 2) gen_b(g, 0x66);
		if (sz == 8 || r >= 8) gen_b(g, (u8)(0x40 | (sz == 8 ? 8 : 0) | (r >= 8)));
		gen_b(g, (u8)(0x90 + (r & 7)));
		return;
	}
	gen_rm_op(g, &o, sz, 1, 50);
	int r = gen_reg_for(g, sz, 1);
	if (gen_hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
		r -= 16;
	if (!o.mem && gen_hi8(o.reg) && r >= 4)
		o.reg -= 16;
	int lock = o.mem && gen_coin(g, 30) ? 0xf0 : 0;
	if (k == 0) {
		u8 opc = sz == 1 ? 0x86 : 0x87;
		gen_enc(g, sz, &opc, 1, r, &o, 0, 0, lock, 0);
	} else {
		u8 opc[2] = {0x0f, (u8)((k == 1 ? 0xb0 : 0xc0) + (sz != 1))};
		gen_enc(g, sz, opc, 2, r, &o, 0, 0, lock, 0);
		gen_fl(g, ALLF, 0);
	}
}

static void g_cx8(struct g *g)
{
	struct op o;
	int w = gen_coin(g, 50);
	gen_item_begin(g);
	if (gen_coin(g, 50)) { /* mov rax/rdx from the operand so it may succeed */
		gen_begin(g); gen_b(g, 0x49); gen_b(g, 0x8b); gen_b(g, 0x46); gen_b(g, 0x40); /* mov rax,[r14+0x40] */
		gen_begin(g); gen_b(g, 0x49); gen_b(g, 0x8b); gen_b(g, 0x56); gen_b(g, 0x48); /* mov rdx,[r14+0x48] */
	}
	memset(&o, 0, sizeof(o));
	o.mem = 1; o.base = 14; o.index = -1; o.dsz = 1;
	o.disp = gen_coin(g, 50) ? 0x40 : (int32_t)(gen_rnd(g, 8) * 16) - 64;
	int lock = gen_coin(g, 50) ? 0xf0 : 0;
	u8 opc[2] = {0x0f, 0xc7};
	gen_enc(g, w ? 8 : 4, opc, 2, 1, &o, 0, 0, lock, 0);
	gen_fl(g, ZF, 0);
}

static void g_move(struct g *g)
{
	int sz = gen_rsize(g);
	struct op o;
	switch (gen_rnd(g, 10)) {
	case 0: case 1: { /* 88/89/8A/8B */
		int dir = gen_coin(g, 50);
		gen_rm_op(g, &o, sz, !dir, 50);
		int r = gen_reg_for(g, sz, dir);
		if (gen_hi8(r) && ((o.mem && (o.base >= 8 || o.index >= 8)) || (!o.mem && o.reg >= 4 && o.reg < 16)))
			r -= 16;
		if (!o.mem && gen_hi8(o.reg) && r >= 4)
			o.reg -= 16;
		u8 opc = (u8)(0x88 + (sz != 1) + 2 * dir);
		gen_enc(g, sz, &opc, 1, r, &o, 0, 0, 0, 0);
		break;
	}
	case 2: { u8 opc = sz == 1 ? 0xc6 : 0xc7; gen_rm_op(g, &o, sz, 1, 60);
		gen_enc(g, sz, &opc, 1, 0, &o, gen_immsz_for(sz), gen_val(g), 0, 0); break; }
	case 3: { /* B0+r / B8+r */
		int r = gen_wreg(g);
		gen_begin(g);
		if (sz == 2) gen_b(g, 0x66);
		if (sz == 8 || r >= 8) gen_b(g, (u8)(0x40 | (sz == 8 ? 8 : 0) | (r >= 8)));
		gen_b(g, (u8)((sz == 1 ? 0xb0 : 0xb8) + (r & 7)));
		gen_le(g, gen_val(g), sz);
		break;
	}
	case 4: { /* MOVZX/MOVSX */
		int s8 = gen_coin(g, 50), dsz = 2 << gen_rnd(g, 3);
		gen_rm_op(g, &o, s8 ? 1 : 2, 0, 40);
		if (!o.mem && s8 && o.reg >= 4 && o.reg < 8)
			o.reg += 12; /* encoded 4-7: AH..BH unless a REX is needed */
		if (!o.mem && gen_hi8(o.reg) && (dsz == 8 || o.reg >= 16))
			o.reg = o.reg - 16;
		u8 opc[2] = {0x0f, (u8)((gen_coin(g, 50) ? 0xb6 : 0xbe) + !s8)};
		gen_enc(g, dsz, opc, 2, gen_wreg(g), &o, 0, 0, 0, 0);
		break;
	}
	case 5: { u8 opc = 0x63; gen_rm_op(g, &o, 4, 0, 40); gen_enc(g, gen_coin(g, 80) ? 8 : 4, &opc, 1, gen_wreg(g), &o, 0, 0, 0, 0); break; }
	case 6: { u8 opc = 0x8d; gen_mem_op(g, &o, 1); if (sz == 1) sz = 8;
		o.base = o.base < 0 ? o.base : (int)gen_rnd(g, 16);
		gen_enc(g, sz, &opc, 1, gen_wreg(g), &o, 0, 0, 0, 0); break; }
	case 7: { /* moffs */
		int st = gen_coin(g, 50), a32 = gen_coin(g, 30);
		gen_begin(g);
		if (sz == 2) gen_b(g, 0x66);
		if (a32) gen_b(g, 0x67);
		if (sz == 8) gen_b(g, 0x48);
		gen_b(g, (u8)((st ? 0xa2 : 0xa0) + (sz != 1)));
		gen_le(g, SANDBOX_BASE + 0x1000 + gen_rnd(g, 0x1000), a32 ? 4 : 8);
		break;
	}
	case 8: { /* CBW family / BSWAP */
		gen_begin(g);
		if (gen_coin(g, 50)) {
			if (sz == 2) gen_b(g, 0x66);
			if (sz == 8) gen_b(g, 0x48);
			gen_b(g, gen_coin(g, 50) ? 0x98 : 0x99);
		} else {
			int r = gen_wreg(g), w = gen_coin(g, 50);
			if (w || r >= 8) gen_b(g, (u8)(0x40 | (w ? 8 : 0) | (r >= 8)));
			gen_b(g, 0x0f);
			gen_b(g, (u8)(0xc8 + (r & 7)));
		}
		break;
	}
	default: { /* XLAT with RBX near the data */
		gen_begin(g); gen_b(g, 0x49); gen_b(g, 0x8d); gen_b(g, 0x5e); gen_b(g, (u8)gen_rnd(g, 128)); /* lea rbx,[r14+d8] */
		gen_begin(g); gen_b(g, 0xd7);
	}
	}
}

/* MOV r32,imm32 (zero-extended). */
static void mov_imm(struct g *g, int r, uint32_t v)
{
	gen_begin(g);
	if (r >= 8)
		gen_b(g, 0x41);
	gen_b(g, (u8)(0xb8 + (r & 7)));
	gen_le(g, v, 4);
}

static void g_string(struct g *g)
{
	static const u8 ops[5] = {0xa4, 0xaa, 0xac, 0xa6, 0xae};
	int k = (int)gen_rnd(g, 5), sz = gen_rsize(g), rep = (int)gen_rnd(g, 3);
	unsigned n = gen_rnd(g, 12);
	gen_item_begin(g);
	if (rep) {
		mov_imm(g, 1, n); /* mov ecx, n */
	}
	gen_begin(g);
	if (sz == 2) gen_b(g, 0x66);
	if (rep) gen_b(g, rep == 1 ? 0xf3 : 0xf2);
	if (sz == 8) gen_b(g, 0x48);
	gen_b(g, (u8)(ops[k] + (sz != 1)));
	if (k >= 3 && (!rep || n))
		gen_fl(g, ALLF, 0);
}

static void g_nop(struct g *g)
{
	gen_begin(g);
	switch (gen_rnd(g, 5)) {
	case 0: gen_b(g, 0x90); break;
	case 1: gen_b(g, 0x66); gen_b(g, 0x90); break;
	case 2: gen_b(g, 0xf3); gen_b(g, 0x90); break;
	case 3: gen_b(g, 0x0f); gen_b(g, 0x1f); gen_b(g, 0x44); gen_b(g, 0x00); gen_b(g, 0x00); break;
	default: gen_b(g, 0xf3); gen_b(g, 0x0f); gen_b(g, 0x1e); gen_b(g, 0xfa); break;
	}
}

/* CMP or TEST (32/64-bit registers, or a register and an immediate) then a
 * Jcc: a pair emulator/fuse.c runs as one handler. */
static void g_cmp_jcc(struct g *g)
{
	int sz = gen_coin(g, 50) ? 8 : 4, test = gen_coin(g, 40), imm = gen_coin(g, 40);
	struct op o = {0};
	o.reg = (int)gen_rnd(g, 16);
	u8 opc = imm ? (test ? 0xf7 : gen_coin(g, 50) ? 0x83 : 0x81) : test ? 0x85 : gen_coin(g, 50) ? 0x39 : 0x3b;
	gen_enc(g, sz, &opc, 1, imm ? (test ? 0 : 7) : (int)gen_rnd(g, 16), &o, imm ? (opc == 0x83 ? 1 : 4) : 0,
		gen_val(g), 0, 0);
	gen_fl(g, test ? ALLF & ~AF : ALLF, test ? AF : 0);
	gen_item_begin(g);
	g_jump(g);
}

/* r is one the generated code may write (not RSP or a base register). */
static int writable(int r)
{
	for (unsigned i = 0; i < sizeof(wregs) / sizeof(wregs[0]); i++)
		if (wregs[i] == r)
			return 1;
	return 0;
}

/* MOV d,s then ADD, OR, AND, SUB, XOR (register or immediate) or SHL, SHR,
 * SAR by an immediate on d, both 32 or both 64 bits: the pairs that
 * emulator/fuse.c runs as one handler. After a shift, often an operation
 * between d and s either way round (the triples of fuse.c: h ^= h >> 33).
 * Registers in the mask keep (a loop's counter and limit) are never written. */
static void pair(struct g *g, unsigned keep)
{
	static const u8 ops[5] = {0, 1, 4, 5, 6}, shs[3] = {4, 5, 7};
	int sz = gen_coin(g, 50) ? 8 : 4, d = gen_wreg(g), s = (int)gen_rnd(g, 16), dir = gen_coin(g, 50);
	while ((keep >> d) & 1)
		d = gen_wreg(g);
	int x = gen_coin(g, 20) ? d : (int)gen_rnd(g, 16), form = (int)gen_rnd(g, 4);
	struct op o = {0};
	u8 opc = (u8)(0x89 + 2 * dir);
	o.reg = dir ? s : d;
	gen_enc(g, sz, &opc, 1, dir ? d : s, &o, 0, 0, 0, 0);
	o.reg = d;
	if (form == 3) { /* C1 /4 /5 /7 ib, or D1 (count 1) */
		int op = shs[gen_rnd(g, 3)], one = gen_coin(g, 20);
		unsigned n = one ? 1 : gen_rnd(g, (unsigned)sz * 8 + 2), mc = n & (sz == 8 ? 63 : 31);
		opc = one ? 0xd1 : 0xc1;
		gen_enc(g, sz, &opc, 1, op, &o, !one, n, 0, 0);
		uint32_t ofu = mc == 1 ? 0 : OF;
		if (mc)
			gen_fl(g, ALLF & ~AF & ~ofu, AF | ofu);
		if (gen_coin(g, 60)) { /* d op= s, or s op= d if s may be written */
			int to_s = !((keep >> s) & 1) && writable(s) && gen_coin(g, 50), op3 = ops[gen_rnd(g, 5)], e_form = gen_coin(g, 50);
			int dst = to_s ? s : d, src = to_s ? d : s;
			opc = (u8)(op3 * 8 + 1 + 2 * e_form); /* 01: E op= G, 03: G op= E */
			o.reg = e_form ? src : dst;
			gen_enc(g, sz, &opc, 1, e_form ? dst : src, &o, 0, 0, 0, 0);
			gen_fl(g, ALLF & ~((op3 == 1 || op3 == 4 || op3 == 6) ? AF : 0),
			       (op3 == 1 || op3 == 4 || op3 == 6) ? AF : 0);
		}
		return;
	}
	int op = ops[gen_rnd(g, 5)];
	uint32_t und = (op == 1 || op == 4 || op == 6) ? AF : 0;
	if (form == 2) {
		opc = gen_coin(g, 50) ? 0x83 : 0x81;
		gen_enc(g, sz, &opc, 1, op, &o, opc == 0x83 ? 1 : 4, gen_val(g), 0, 0);
	} else { /* E op= G (x in G) or G op= E (x in E) */
		opc = (u8)(op * 8 + 1 + 2 * form);
		o.reg = form ? x : d;
		gen_enc(g, sz, &opc, 1, form ? d : x, &o, 0, 0, 0, 0);
	}
	gen_fl(g, ALLF & ~und, und);
}

/* One to three pairs in a row, as in a xorshift (the flags of all but the
 * last are dead); or CMP/TEST and Jcc. */
static void g_pair(struct g *g)
{
	if (gen_coin(g, 30))
		return g_cmp_jcc(g);
	for (int k = 1 + (int)gen_rnd(g, 3); k-- > 0;)
		pair(g, 0);
}

/* A counted loop, one item: r counts down from N (1-4) or up from 0; L:
 * zero to two pairs (never writing r or the limit register x); the step
 * (SUB/ADD r,1, DEC/INC r); then CMP r,imm8, CMP r,x either way round,
 * TEST r,r, TEST r,imm or nothing; Jcc L, with conditions chosen so that
 * each loop ends within N+1 passes. From the second pass on, L starts a
 * trace whose fused CMP/TEST+Jcc jumps to its own start (fuse.c's loop
 * handlers, emu_again); without a CMP/TEST the plain Jcc does. */
static void g_loop(struct g *g)
{
	static const struct { u8 up, cmp, lim, cc; } k[] = {
		/* cmp: 0 CMP r,lim; 1 CMP r,x (x = lim); 2 TEST r,r; 3 TEST r,7; 4 none (the step's ZF).
		 * lim 0xff: N (up), 0xfe: N - 1 (up) */
		{0, 0, 0, 5}, {0, 0, 0, 7}, {0, 0, 0, 15}, {0, 0, 0, 13}, {0, 0, 1, 3}, {0, 1, 0, 5},
		{0, 1, 0, 7}, {0, 1, 0, 15}, {0, 2, 0, 5}, {0, 2, 0, 15}, {0, 2, 0, 9}, {0, 3, 0, 5},
		{0, 4, 0, 5}, {1, 0, 0xff, 5}, {1, 0, 0xff, 2}, {1, 0, 0xff, 12}, {1, 0, 0xfe, 6},
		{1, 0, 0xfe, 14}, {1, 0, 1, 4}, {1, 1, 0xff, 2}, {1, 1, 0xff, 12}, {1, 1, 0xfe, 6},
		{1, 1, 0xff, 5},
	};
	unsigned w = gen_rnd(g, sizeof(k) / sizeof(k[0])), n = 1 + gen_rnd(g, 4);
	int r = gen_wreg(g), x = gen_wreg(g), sz = gen_coin(g, 50) ? 8 : 4;
	unsigned lim = k[w].lim == 0xff ? n : k[w].lim == 0xfe ? n - 1 : k[w].lim;
	struct op o = {0};
	while (x == r)
		x = gen_wreg(g);
	mov_imm(g, r, k[w].up ? 0 : n);
	if (k[w].cmp == 1)
		mov_imm(g, x, lim);
	unsigned top = g->s->len;
	for (int i = (int)gen_rnd(g, 3); i-- > 0;)
		pair(g, 1u << r | 1u << x);
	o.reg = r;
	u8 opc = gen_coin(g, 50) ? 0x83 : 0xff; /* ADD/SUB r,1, or INC/DEC r */
	gen_enc(g, sz, &opc, 1, opc == 0x83 ? (k[w].up ? 0 : 5) : !k[w].up, &o, opc == 0x83, 1, 0, 0);
	gen_fl(g, opc == 0x83 ? ALLF : ALLF & ~CF, 0);
	switch (k[w].cmp) {
	case 0: opc = 0x83; gen_enc(g, sz, &opc, 1, 7, &o, 1, lim, 0, 0); break;
	case 1:
		opc = gen_coin(g, 50) ? 0x39 : 0x3b; /* CMP r,x as 39 /r (r in rm) or 3B /r (r in reg) */
		o.reg = opc == 0x39 ? r : x;
		gen_enc(g, sz, &opc, 1, opc == 0x39 ? x : r, &o, 0, 0, 0, 0);
		break;
	case 2: opc = 0x85; gen_enc(g, sz, &opc, 1, r, &o, 0, 0, 0, 0); break;
	case 3: opc = 0xf7; gen_enc(g, sz, &opc, 1, 0, &o, 4, 7, 0, 0); break;
	}
	if (k[w].cmp < 4)
		gen_fl(g, k[w].cmp >= 2 ? ALLF & ~AF : ALLF, k[w].cmp >= 2 ? AF : 0);
	gen_begin(g);
	gen_b(g, (u8)(0x70 + k[w].cc));
	gen_b(g, (u8)(top - (g->s->len + 1)));
}

typedef void (*gen_fn)(struct g *);
static const struct { gen_fn fn; unsigned w; } gens[] = {
	{gen_g_alu, 20}, {g_test, 4}, {g_unary, 10}, {g_imul, 4}, {g_shift, 10},
	{g_shd, 4}, {g_bt, 4}, {g_bitscan, 4}, {g_cc, 6}, {g_jump, 5}, {g_call, 2},
	{g_stack, 6}, {g_flags, 5}, {g_enter, 2}, {g_xchg, 6}, {g_cx8, 2},
	{g_move, 14}, {g_string, 6}, {g_nop, 2}, {g_sse, 16}, {g_ssemov, 6}, {g_ext, 8}, {g_pair, 6}, {g_loop, 3},
};

static void init_state(struct g *g)
{
	struct gen_seq *s = g->s;
	for (int i = 0; i < 16; i++)
		s->gpr[i] = gen_val(g);
	s->gpr[4] = SANDBOX_BASE + 0x3800;
	s->gpr[5] = SANDBOX_BASE + 0x3a00 + gen_rnd(g, 0x100);
	s->gpr[6] = SANDBOX_BASE + 0x1800 + gen_rnd(g, 0x400);
	s->gpr[7] = SANDBOX_BASE + 0x2000 + gen_rnd(g, 0x400);
	s->gpr[13] = gen_rnd(g, 0x40);
	s->gpr[14] = SANDBOX_BASE + 0x1000;
	s->rflags = 0x202 | (gen_rand(&g->rng) & ALLF);
	for (int i = 0; i < 16; i++)
		s->xmm[i][0] = gen_val(g), s->xmm[i][1] = gen_val(g);
	s->tf = gen_coin(g, 10);
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
	items = 1 + gen_rnd(&g, 12);
	for (unsigned i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		total += gens[i].w;
	for (unsigned it = 0; it < items && s->n < MAX_INSNS - 12 && s->len < 1800; it++) {
		unsigned r = gen_rnd(&g, total), i = 0;
		while (r >= gens[i].w)
			r -= gens[i++].w;
		unsigned before = g.item;
		gen_item_begin(&g);
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
