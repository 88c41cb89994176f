/* gen_sse.c - the SSE and extension families of the sequence generator:
 * SSE2..SSE4.2 integer and data-movement instructions on random XMM
 * registers and (mostly 16-byte aligned) sandbox memory, MOVD/MOVQ,
 * PEXTR/PINSR, PMOVMSKB, shifts by an immediate, and BMI1/BMI2 (VEX), ADX,
 * MOVBE, CRC32, CLFLUSH/CLFLUSHOPT/CLWB, RDFSBASE. Floating-point SSE is
 * not generated: the interpreter hands it to the CPU. */
#include "gen_internal.h"

#include <string.h>

/* xmm, xmm/m128 ops: prefix (0 none), opcode bytes after 0F, imm8 flag, memory bytes */
static const struct sop {
	u8 pfx, map, opc, imm, mem;
} sops[] = {
	{0x66, 1, 0xfc, 0, 16}, {0x66, 1, 0xfd, 0, 16}, {0x66, 1, 0xfe, 0, 16}, {0x66, 1, 0xd4, 0, 16},
	{0x66, 1, 0xf8, 0, 16}, {0x66, 1, 0xf9, 0, 16}, {0x66, 1, 0xfa, 0, 16}, {0x66, 1, 0xfb, 0, 16},
	{0x66, 1, 0xec, 0, 16}, {0x66, 1, 0xed, 0, 16}, {0x66, 1, 0xdc, 0, 16}, {0x66, 1, 0xdd, 0, 16},
	{0x66, 1, 0xe8, 0, 16}, {0x66, 1, 0xe9, 0, 16}, {0x66, 1, 0xd8, 0, 16}, {0x66, 1, 0xd9, 0, 16},
	{0x66, 1, 0xdb, 0, 16}, {0x66, 1, 0xdf, 0, 16}, {0x66, 1, 0xeb, 0, 16}, {0x66, 1, 0xef, 0, 16},
	{0, 1, 0x54, 0, 16}, {0, 1, 0x55, 0, 16}, {0, 1, 0x56, 0, 16}, {0, 1, 0x57, 0, 16},
	{0x66, 1, 0x57, 0, 16}, {0x66, 1, 0x54, 0, 16},
	{0x66, 1, 0x74, 0, 16}, {0x66, 1, 0x75, 0, 16}, {0x66, 1, 0x76, 0, 16}, {0x66, 2, 0x29, 0, 16},
	{0x66, 1, 0x64, 0, 16}, {0x66, 1, 0x65, 0, 16}, {0x66, 1, 0x66, 0, 16}, {0x66, 2, 0x37, 0, 16},
	{0x66, 1, 0xda, 0, 16}, {0x66, 1, 0xde, 0, 16}, {0x66, 1, 0xea, 0, 16}, {0x66, 1, 0xee, 0, 16},
	{0x66, 2, 0x38, 0, 16}, {0x66, 2, 0x39, 0, 16}, {0x66, 2, 0x3a, 0, 16}, {0x66, 2, 0x3b, 0, 16},
	{0x66, 2, 0x3c, 0, 16}, {0x66, 2, 0x3d, 0, 16}, {0x66, 2, 0x3e, 0, 16}, {0x66, 2, 0x3f, 0, 16},
	{0x66, 1, 0xe0, 0, 16}, {0x66, 1, 0xe3, 0, 16}, {0x66, 1, 0xf6, 0, 16}, {0x66, 1, 0xd5, 0, 16},
	{0x66, 1, 0xe5, 0, 16}, {0x66, 1, 0xe4, 0, 16}, {0x66, 1, 0xf4, 0, 16}, {0x66, 1, 0xf5, 0, 16},
	{0x66, 2, 0x40, 0, 16}, {0x66, 2, 0x28, 0, 16}, {0x66, 2, 0x04, 0, 16}, {0x66, 2, 0x0b, 0, 16},
	{0x66, 2, 0x1c, 0, 16}, {0x66, 2, 0x1d, 0, 16}, {0x66, 2, 0x1e, 0, 16}, {0x66, 2, 0x08, 0, 16},
	{0x66, 2, 0x09, 0, 16}, {0x66, 2, 0x0a, 0, 16}, {0x66, 2, 0x01, 0, 16}, {0x66, 2, 0x02, 0, 16},
	{0x66, 2, 0x03, 0, 16}, {0x66, 2, 0x05, 0, 16}, {0x66, 2, 0x06, 0, 16}, {0x66, 2, 0x07, 0, 16},
	{0x66, 2, 0x00, 0, 16}, {0x66, 1, 0x60, 0, 16}, {0x66, 1, 0x61, 0, 16}, {0x66, 1, 0x62, 0, 16},
	{0x66, 1, 0x6c, 0, 16}, {0x66, 1, 0x68, 0, 16}, {0x66, 1, 0x69, 0, 16}, {0x66, 1, 0x6a, 0, 16},
	{0x66, 1, 0x6d, 0, 16}, {0, 1, 0x14, 0, 16}, {0, 1, 0x15, 0, 16}, {0x66, 1, 0x14, 0, 16},
	{0x66, 1, 0x15, 0, 16}, {0x66, 1, 0x63, 0, 16}, {0x66, 1, 0x67, 0, 16}, {0x66, 1, 0x6b, 0, 16},
	{0x66, 2, 0x2b, 0, 16}, {0x66, 1, 0xd1, 0, 16}, {0x66, 1, 0xd2, 0, 16}, {0x66, 1, 0xd3, 0, 16},
	{0x66, 1, 0xe1, 0, 16}, {0x66, 1, 0xe2, 0, 16}, {0x66, 1, 0xf1, 0, 16}, {0x66, 1, 0xf2, 0, 16},
	{0x66, 1, 0xf3, 0, 16}, {0x66, 1, 0x70, 1, 16}, {0xf3, 1, 0x70, 1, 16}, {0xf2, 1, 0x70, 1, 16},
	{0, 1, 0xc6, 1, 16}, {0x66, 1, 0xc6, 1, 16}, {0x66, 3, 0x0f, 1, 16}, {0x66, 3, 0x0e, 1, 16},
	{0x66, 3, 0x0c, 1, 16}, {0x66, 3, 0x0d, 1, 16}, {0x66, 2, 0x10, 0, 16}, {0x66, 2, 0x14, 0, 16},
	{0x66, 2, 0x15, 0, 16}, {0x66, 2, 0x20, 0, 8}, {0x66, 2, 0x21, 0, 4}, {0x66, 2, 0x22, 0, 2},
	{0x66, 2, 0x23, 0, 8}, {0x66, 2, 0x24, 0, 4}, {0x66, 2, 0x25, 0, 8}, {0x66, 2, 0x30, 0, 8},
	{0x66, 2, 0x31, 0, 4}, {0x66, 2, 0x32, 0, 2}, {0x66, 2, 0x33, 0, 8}, {0x66, 2, 0x34, 0, 4},
	{0x66, 2, 0x35, 0, 8}, {0x66, 2, 0x41, 0, 16}, {0x66, 3, 0x42, 1, 16}, {0x66, 3, 0x21, 1, 4},
	{0x66, 2, 0x17, 0, 16}, /* PTEST: flags */
	/* moves into xmm */
	{0, 1, 0x10, 0, 16}, {0x66, 1, 0x10, 0, 16}, {0xf3, 1, 0x10, 0, 4}, {0xf2, 1, 0x10, 0, 8},
	{0, 1, 0x28, 0, 16}, {0x66, 1, 0x28, 0, 16}, {0x66, 1, 0x6f, 0, 16}, {0xf3, 1, 0x6f, 0, 16},
	{0xf3, 1, 0x7e, 0, 8}, {0, 1, 0x12, 0, 8}, {0, 1, 0x16, 0, 8}, {0xf2, 1, 0x12, 0, 8},
	{0xf3, 1, 0x12, 0, 16}, {0xf3, 1, 0x16, 0, 16},
};

/* xmm or memory destination forms (stores): the xmm is ModRM.reg */
static const struct sop stores[] = {
	{0, 1, 0x11, 0, 16}, {0x66, 1, 0x11, 0, 16}, {0xf3, 1, 0x11, 0, 4}, {0xf2, 1, 0x11, 0, 8},
	{0, 1, 0x29, 0, 16}, {0x66, 1, 0x29, 0, 16}, {0x66, 1, 0x7f, 0, 16}, {0xf3, 1, 0x7f, 0, 16},
	{0x66, 1, 0xd6, 0, 8}, {0, 1, 0x13, 0, 8}, {0, 1, 0x17, 0, 8}, {0x66, 1, 0x13, 0, 8},
	{0x66, 1, 0x17, 0, 8}, {0x66, 1, 0xe7, 0, 16}, {0, 1, 0x2b, 0, 16},
};

/* A memory operand for an SSE access: aligned to 16 bytes most of the time. */
static void sse_mem(struct g *g, struct op *o, int n, int store)
{
	gen_mem_op(g, o, !store);
	if (n == 16 && gen_coin(g, 85)) {
		o->base = gen_coin(g, 70) ? 14 : 4, o->index = -1, o->a32 = 0, o->seg = 0, o->rip = 0;
		o->dsz = 4, o->disp = (int32_t)(gen_rnd(g, 0x180) * 16) - 0x800;
	}
}

static void enc(struct g *g, const struct sop *s, int regf, struct op *o, int w)
{
	u8 opc[3] = {0x0f, 0, 0};
	int n = 1;
	if (s->map > 1)
		opc[n++] = s->map == 2 ? 0x38 : 0x3a;
	opc[n++] = s->opc;
	gen_enc(g, w ? 8 : 4, opc, n, regf, o, s->imm || s->map == 3 ? 1 : 0, gen_rnd(g, 256), s->pfx, 0);
}

void g_sse(struct g *g)
{
	struct op o;
	int st = gen_coin(g, 20);
	const struct sop *s = st ? &stores[gen_rnd(g, sizeof(stores) / sizeof(stores[0]))]
				 : &sops[gen_rnd(g, sizeof(sops) / sizeof(sops[0]))];
	int mem = gen_coin(g, 40) || (st && (s->opc == 0x13 || s->opc == 0x17 || s->opc == 0xe7 || s->opc == 0x2b)) ||
		  (!st && s->pfx == 0x66 && (s->opc == 0x12 || s->opc == 0x16));
	if (mem)
		sse_mem(g, &o, s->mem, st);
	else
		memset(&o, 0, sizeof(o)), o.reg = (int)gen_rnd(g, 16);
	enc(g, s, (int)gen_rnd(g, 16), &o, 0);
	if (!st && s->map == 2 && s->opc == 0x17)
		gen_fl(g, ALLF, 0);
}

/* GPR <-> xmm, shifts by immediate, inserts and extracts. */
void g_ssemov(struct g *g)
{
	struct op o;
	int x = (int)gen_rnd(g, 16), w = gen_coin(g, 50), k = (int)gen_rnd(g, 9);
	static const u8 grp[3][4] = {{2, 4, 6, 2}, {2, 4, 6, 4}, {2, 3, 6, 7}};
	static const struct sop fx[] = {
		{0x66, 1, 0x6e, 0, 4}, {0x66, 1, 0x7e, 0, 4}, {0x66, 3, 0x14, 1, 1}, {0x66, 3, 0x15, 1, 2},
		{0x66, 3, 0x16, 1, 4}, {0x66, 3, 0x17, 1, 4}, {0x66, 3, 0x20, 1, 1}, {0x66, 3, 0x22, 1, 4},
		{0x66, 1, 0xc4, 1, 2},
	};
	if (k < 3) { /* 66 0F 71-73 /n ib: the xmm is ModRM.rm */
		unsigned t = gen_rnd(g, 3);
		memset(&o, 0, sizeof(o));
		o.reg = x;
		u8 opc[2] = {0x0f, (u8)(0x71 + t)};
		gen_enc(g, 4, opc, 2, grp[t][gen_rnd(g, 4)], &o, 1, gen_coin(g, 70) ? gen_rnd(g, 18) : gen_rnd(g, 256), 0x66, 0);
		return;
	}
	if (k == 3) { /* PMOVMSKB / MOVMSKPS / MOVMSKPD / PEXTRW r32, xmm */
		static const struct sop m[] = {{0x66, 1, 0xd7, 0, 0}, {0, 1, 0x50, 0, 0}, {0x66, 1, 0x50, 0, 0},
					       {0x66, 1, 0xc5, 1, 0}};
		memset(&o, 0, sizeof(o));
		o.reg = x;
		enc(g, &m[gen_rnd(g, 4)], gen_wreg(g), &o, 0);
		return;
	}
	const struct sop *s = &fx[gen_rnd(g, sizeof(fx) / sizeof(fx[0]))];
	if (gen_coin(g, 40))
		gen_mem_op(g, &o, s->opc != 0x7e && s->opc != 0x14 && s->opc != 0x15 && s->opc != 0x16 && s->opc != 0x17);
	else
		gen_reg_op(g, &o, 4, s->opc == 0x7e || (s->map == 3 && s->opc < 0x20)), o.reg &= 15;
	if (!o.mem && (s->opc == 0x14 || s->opc == 0x15 || s->opc == 0x16 || s->opc == 0x17 || s->opc == 0x7e))
		o.reg = gen_wreg(g);
	enc(g, s, x, &o, w && (s->opc == 0x6e || s->opc == 0x7e || s->opc == 0x16 || s->opc == 0x22));
}

/* BMI1/BMI2 (VEX), ADX, MOVBE, CRC32, cache-line flushes, RDFSBASE. */
void g_ext(struct g *g)
{
	struct op o;
	int w = gen_coin(g, 50), k = (int)gen_rnd(g, 12);
	static const struct { u8 map, pp, opc, reg; uint32_t def, und; } vx[] = {
		{2, 0, 0xf2, 0, ALLF & ~(AF | PF), AF | PF},       /* ANDN */
		{2, 0, 0xf3, 1, ALLF & ~(AF | PF), AF | PF},       /* BLSR */
		{2, 0, 0xf3, 2, ALLF & ~(AF | PF), AF | PF},       /* BLSMSK */
		{2, 0, 0xf3, 3, ALLF & ~(AF | PF), AF | PF},       /* BLSI */
		{2, 0, 0xf7, 0, ZF | CF | OF, AF | SF | PF},       /* BEXTR */
		{2, 0, 0xf5, 0, ALLF & ~(AF | PF), AF | PF},       /* BZHI */
		{2, 2, 0xf5, 0, 0, 0}, {2, 3, 0xf5, 0, 0, 0},     /* PEXT PDEP */
		{2, 3, 0xf6, 0, 0, 0}, {2, 1, 0xf7, 0, 0, 0},     /* MULX SHLX */
		{2, 2, 0xf7, 0, 0, 0}, {2, 3, 0xf7, 0, 0, 0},     /* SARX SHRX */
		{3, 3, 0xf0, 0, 0, 0},                             /* RORX */
	};
	gen_rm_op(g, &o, w ? 8 : 4, 0, 40);
	if (k < 7) {
		unsigned i = gen_rnd(g, sizeof(vx) / sizeof(vx[0]));
		int v = vx[i].opc == 0xf0 ? 0 : (int)gen_rnd(g, 16), regf = vx[i].opc == 0xf3 ? vx[i].reg : gen_wreg(g);
		if (vx[i].opc == 0xf3 || vx[i].opc == 0xf6)
			v = gen_wreg(g); /* the destination */
		if (vx[i].opc == 0xf7 && vx[i].pp == 0 && gen_coin(g, 60)) { /* BEXTR: a sane start/len in v */
			gen_begin(g);
			gen_b(g, (u8)(0x41 + 0)), gen_b(g, 0xbb), gen_le(g, gen_rnd(g, 0x4040), 4); /* mov $x,%r11d */
			v = 11;
		}
		g->vex = 1 + (vx[i].map | vx[i].pp << 5 | (unsigned)v << 8 | (unsigned)w << 12);
		u8 opc = vx[i].opc;
		gen_enc(g, w ? 8 : 4, &opc, 1, regf, &o, vx[i].map == 3 ? 1 : 0, gen_rnd(g, 256), 0, 0);
		gen_fl(g, vx[i].def, vx[i].und);
		return;
	}
	if (k < 9) { /* ADCX, ADOX */
		gen_need(g, k == 7 ? CF : OF);
		u8 opc[3] = {0x0f, 0x38, 0xf6};
		gen_enc(g, w ? 8 : 4, opc, 3, gen_wreg(g), &o, 0, 0, k == 7 ? 0x66 : 0xf3, 0);
		return;
	}
	if (k == 9) { /* CRC32 r, r/m8 or r/m16/32/64 */
		int sz = gen_coin(g, 30) ? 1 : gen_rsize(g);
		struct op s;
		gen_rm_op(g, &s, sz, 0, 40);
		if (sz == 1 && !s.mem)
			s.reg &= 15;
		u8 opc[3] = {0x0f, 0x38, (u8)(sz == 1 ? 0xf0 : 0xf1)};
		gen_enc(g, sz == 1 ? (w ? 8 : 4) : sz, opc, 3, gen_wreg(g), &s, 0, 0, 0xf2, 0);
		return;
	}
	gen_mem_op(g, &o, 1);
	if (k == 10) { /* MOVBE */
		int sz = 2 << gen_rnd(g, 3), st = gen_coin(g, 50);
		if (st)
			gen_mem_op(g, &o, 0);
		u8 opc[3] = {0x0f, 0x38, (u8)(0xf0 + st)};
		gen_enc(g, sz, opc, 3, st ? (int)gen_rnd(g, 16) : gen_wreg(g), &o, 0, 0, 0, 0);
		return;
	}
	u8 opc[2] = {0x0f, 0xae}; /* CLFLUSH, CLFLUSHOPT, CLWB */
	unsigned f = gen_rnd(g, 3);
	gen_enc(g, 4, opc, 2, f == 2 ? 6 : 7, &o, 0, 0, f ? 0x66 : 0, 0);
}
