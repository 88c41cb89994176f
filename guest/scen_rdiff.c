/* scen_rdiff.c: "regions_diff": the real CPU is the reference for the interpreter. A small
 * generator (xorshift64, seeded by arg) writes random straight-line sequences of integer
 * instructions the interpreter supports into two code pages; each sequence runs natively from
 * page N and in a region from page E, from the same registers, flags and scratch buffer, and
 * every GPR, the arithmetic flags and DF, and the buffer must agree. Memory operands are
 * [R14 + disp8] into the buffer (string instructions: RSI/RDI set into it first); R14 is
 * never written, RSP only by a PUSH/POP pair. Flag readers (CMOVcc, SETcc, Jcc) come right
 * after a CMP, shift counts stay below the operand size, BSF/BSR get a non-zero source, and
 * every sequence ends with a CMP, so no undefined flag or result (SDM) is read or compared. */
#include "region.h"

#define NSEQ 2000
#define ITEMS 20
#define DBUF 512
#define CODE_N GUEST_SCRATCH_PAGE(30)
#define CODE_E GUEST_SCRATCH_PAGE(31)

struct gen {
	u8 *p;
	u64 insns, rng;
	bool in_jcc;
};
static u8 dbuf[DBUF] __attribute__((aligned(64)));
static u8 dsaved[DBUF];
static const u8 gregs[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15}; /* no RSP, R14 */

static u64 rnd(struct gen *g)
{
	g->rng ^= g->rng << 13, g->rng ^= g->rng >> 7, g->rng ^= g->rng << 17;
	return g->rng;
}
static u32 pick(struct gen *g, u32 n) { return (u32)(rnd(g) % n); }
static u8 reg(struct gen *g) { return gregs[pick(g, sizeof(gregs))]; }
static int size(struct gen *g) { return 1 << pick(g, 4); } /* 1, 2, 4, 8 bytes */
static u64 imm(struct gen *g)
{
	static const u64 edge[] = {0, 1, ~0UL, 0x7f, 0x80, 0x7fffffff, 0x80000000, 0xff, 0xffff};
	return pick(g, 4) ? rnd(g) : edge[pick(g, ARRAY_SIZE(edge))];
}
static void put(struct gen *g, u64 v, int n)
{
	for (int i = 0; i < n; i++)
		*g->p++ = (u8)(v >> (8 * i));
}

/* One instruction: [66] [REX] opcode ModRM [disp8]. mem: r/m is [R14 + disp8] (disp8 random,
 * the buffer spans R14 - 128 .. R14 + 383); otherwise r/m is register rm. */
static void insn(struct gen *g, int sz, const u8 *op, int oplen, int r, int rm, bool mem)
{
	u8 rex = (sz == 8 ? 8 : 0) | (r >= 8 ? 4 : 0) | ((mem ? 14 : rm) >= 8 ? 1 : 0);
	if (sz == 2)
		*g->p++ = 0x66;
	/* 8-bit: with a REX prefix 4-7 are SPL..DIL (SPL is never chosen), without AH..BH */
	if (rex || (sz == 1 && pick(g, 2)))
		*g->p++ = 0x40 | rex;
	for (int i = 0; i < oplen; i++)
		*g->p++ = op[i];
	if (mem) {
		*g->p++ = 0x40 | (r & 7) << 3 | 6; /* mod 01, rm 110 (R14 with REX.B) */
		*g->p++ = (u8)(pick(g, 256 - 8) - 128);
	} else {
		*g->p++ = 0xc0 | (r & 7) << 3 | (rm & 7);
	}
	g->insns++;
}
static void op1(struct gen *g, int sz, u8 opc, int r, int rm, bool mem) { insn(g, sz, &opc, 1, r, rm, mem); }
static void op2(struct gen *g, int sz, u8 opc, int r, int rm, bool mem)
{
	u8 op[2] = {0x0f, opc};
	insn(g, sz, op, 2, r, rm, mem);
}
static int bits(int sz) { return sz * 8; }
static int wide(struct gen *g) { return 2 << pick(g, 3); } /* 2, 4, 8 */

static void cmp_rr(struct gen *g) { op1(g, 8, 0x39, reg(g), reg(g), false); }

/* LEA r64, [R14 + d] */
static void lea_r14(struct gen *g, int r, s8 d)
{
	*g->p++ = 0x49 | (r >= 8 ? 4 : 0), *g->p++ = 0x8d, *g->p++ = (u8)(0x46 | (r & 7) << 3), *g->p++ = (u8)d;
	g->insns++;
}

/* A string instruction over the buffer, with or without REP/REPE/REPNE, forward or backward
 * (STD ... CLD), 64- or 32-bit addressing: RSI and RDI into the buffer, RCX <= 16 elements,
 * so that it stays inside. */
static void string_item(struct gen *g, bool a32)
{
	static const u8 ops[] = {0xa4, 0xaa, 0xac, 0xa6, 0xae}; /* MOVS STOS LODS CMPS SCAS */
	int sz = size(g);
	bool down = pick(g, 2);
	u8 op = ops[pick(g, sizeof(ops))] | (sz == 1 ? 0 : 1);
	bool compares = (op & 0xfe) == 0xa6 || (op & 0xfe) == 0xae;
	u8 rep = (u8)pick(g, compares ? 3 : 2); /* none, F3, F2 (REPNE: CMPS/SCAS only) */
	lea_r14(g, 6, (s8)(down ? (int)pick(g, 120) : -1 - (int)pick(g, 128 - 15 * 8)));
	lea_r14(g, 7, (s8)(down ? (int)pick(g, 120) : -1 - (int)pick(g, 128 - 15 * 8)));
	*g->p++ = 0xb9, put(g, pick(g, 17), 4), g->insns++; /* mov ecx, n */
	if (down)
		*g->p++ = 0xfd, g->insns++; /* std */
	if (a32)
		*g->p++ = 0x67;
	if (rep)
		*g->p++ = rep == 1 ? 0xf3 : 0xf2;
	if (sz == 2)
		*g->p++ = 0x66;
	if (sz == 8)
		*g->p++ = 0x48;
	*g->p++ = op, g->insns++;
	if (down)
		*g->p++ = 0xfc, g->insns++; /* cld */
}

static void item(struct gen *g);

/* CMP; Jcc rel8 forward over one other item (taken or not). */
static void jcc_item(struct gen *g)
{
	cmp_rr(g);
	u8 *j = g->p;
	*g->p++ = (u8)(0x70 | pick(g, 16)), *g->p++ = 0, g->insns++;
	g->in_jcc = true; /* no Jcc inside: the skipped item stays short */
	item(g);
	g->in_jcc = false;
	j[1] = (u8)(g->p - (j + 2));
}

/* One random item: one instruction, or a few where the later ones need the first. */
static void item(struct gen *g)
{
	int sz = size(g), w, r = reg(g), rm = reg(g);
	bool mem = pick(g, 3) == 0;
	u8 b = sz == 1 ? 0 : 1; /* the byte/full-size opcode bit */
	u32 k = pick(g, 30);
	switch (k == 19 && g->in_jcc ? 0 : k) {
	case 0: /* ALU r/m,r and r,r/m: ADD OR ADC SBB AND SUB XOR CMP */
		op1(g, sz, (u8)(pick(g, 8) << 3 | pick(g, 2) << 1 | b), r, rm, mem);
		break;
	case 1: { /* ALU r/m, imm */
		u32 f = sz == 1 ? 0 : pick(g, 2);
		op1(g, sz, f ? 0x83 : (sz == 1 ? 0x80 : 0x81), pick(g, 8), rm, mem);
		put(g, imm(g), f || sz == 1 ? 1 : sz == 2 ? 2 : 4);
		break;
	}
	case 2: { /* shifts and rotates by imm8, 1 or CL; count below the operand size */
		u32 ext = pick(g, 7), form = pick(g, 3), n = pick(g, (u32)bits(sz));
		ext = ext == 6 ? 7 : ext;
		if (form == 2) { /* mov cl, n */
			*g->p++ = 0xb1, *g->p++ = (u8)n, g->insns++;
		}
		op1(g, sz, (u8)((form == 0 ? 0xc0 : form == 1 ? 0xd0 : 0xd2) | b), (int)ext, rm, mem);
		if (form == 0)
			put(g, n, 1);
		break;
	}
	case 3: /* MUL, IMUL (one operand), NOT, NEG */
		op1(g, sz, 0xf6 | b, 2 + (int)pick(g, 4), rm, mem);
		break;
	case 4: /* IMUL r, r/m [, imm] */
		w = wide(g);
		if (pick(g, 2)) {
			op2(g, w, 0xaf, r, rm, mem);
		} else if (pick(g, 2)) {
			op1(g, w, 0x6b, r, rm, mem), put(g, imm(g), 1);
		} else {
			op1(g, w, 0x69, r, rm, mem), put(g, imm(g), w == 2 ? 2 : 4);
		}
		break;
	case 5: /* MOVZX, MOVSX (from 8 or 16 bits), MOVSXD */
		w = wide(g);
		if (w == 8 && pick(g, 3) == 0)
			op1(g, 8, 0x63, r, rm, mem);
		else
			op2(g, w, (u8)(0xb6 | pick(g, 2) << 3 | (w > 2 ? pick(g, 2) : 0)), r, rm, mem);
		break;
	case 6: { /* LEA r, [base + index*scale + disp32] (no memory access) */
		w = wide(g);
		u8 base = reg(g), index = reg(g);
		u8 rex = (w == 8 ? 8 : 0) | (r >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0);
		if (w == 2)
			*g->p++ = 0x66;
		if (rex)
			*g->p++ = 0x40 | rex;
		*g->p++ = 0x8d;
		*g->p++ = 0x84 | (r & 7) << 3; /* mod 10, rm 100: SIB + disp32 */
		*g->p++ = (u8)(pick(g, 4) << 6 | (index & 7) << 3 | (base & 7));
		put(g, imm(g), 4);
		g->insns++;
		break;
	}
	case 7: /* XCHG r/m, r */
		op1(g, sz, 0x86 | b, r, rm, mem);
		break;
	case 8: /* CMP; CMOVcc */
		cmp_rr(g);
		op2(g, wide(g), (u8)(0x40 | pick(g, 16)), r, rm, mem);
		break;
	case 9: /* CMP; SETcc */
		cmp_rr(g);
		op2(g, 1, (u8)(0x90 | pick(g, 16)), 0, rm, mem);
		break;
	case 10: { /* BSWAP r32/r64 */
		u8 rex = (pick(g, 2) ? 8 : 0) | (rm >= 8 ? 1 : 0);
		if (rex)
			*g->p++ = 0x40 | rex;
		*g->p++ = 0x0f, *g->p++ = (u8)(0xc8 | (rm & 7));
		g->insns++;
		break;
	}
	case 11: /* INC, DEC */
		op1(g, sz, 0xfe | b, (int)pick(g, 2), rm, mem);
		break;
	case 12: /* TEST r/m, r; TEST r/m, imm */
		if (pick(g, 2)) {
			op1(g, sz, 0x84 | b, r, rm, mem);
		} else {
			op1(g, sz, 0xf6 | b, 0, rm, mem);
			put(g, imm(g), sz == 1 ? 1 : sz == 2 ? 2 : 4);
		}
		break;
	case 13: /* XADD, CMPXCHG r/m, r */
		op2(g, sz, (u8)((pick(g, 2) ? 0xc0 : 0xb0) | b), r, rm, mem);
		break;
	case 14: /* BT BTS BTR BTC: imm8 (register or memory), or register offset (register only) */
		w = wide(g);
		if (pick(g, 2)) {
			op2(g, w, 0xba, 4 + (int)pick(g, 4), rm, mem);
			put(g, pick(g, (u32)bits(w)), 1);
		} else {
			op2(g, w, (u8)(0xa3 | pick(g, 4) << 3), r, rm, false);
		}
		break;
	case 15: /* SHLD, SHRD by imm8 below the operand size */
		w = wide(g);
		op2(g, w, pick(g, 2) ? 0xa4 : 0xac, r, rm, mem);
		put(g, pick(g, (u32)bits(w)), 1);
		break;
	case 16: /* MOV: r/m,r; r,r/m; r/m,imm */
		if (pick(g, 3)) {
			op1(g, sz, (u8)(0x88 | pick(g, 2) << 1 | b), r, rm, mem);
		} else {
			op1(g, sz, 0xc6 | b, 0, rm, mem);
			put(g, imm(g), sz == 1 ? 1 : sz == 2 ? 2 : 4);
		}
		break;
	case 18:
		string_item(g, false);
		break;
	case 19:
		jcc_item(g);
		break;
	case 20: /* BTS r, k (a non-zero source); BSF or BSR; CMP (BSF/BSR leave CF, OF, SF, AF,
		  * PF undefined, and ADC or RCL would read CF) */
		w = wide(g);
		op2(g, w, 0xba, 5, rm, false), put(g, pick(g, (u32)bits(w)), 1);
		op2(g, w, pick(g, 2) ? 0xbc : 0xbd, r, rm, false);
		cmp_rr(g);
		break;
	case 21: /* PUSH r; POP r' (the stack below RSP is not compared) */
		if (rm >= 8)
			*g->p++ = 0x41;
		*g->p++ = (u8)(0x50 | (rm & 7)), g->insns++;
		if (r >= 8)
			*g->p++ = 0x41;
		*g->p++ = (u8)(0x58 | (r & 7)), g->insns++;
		break;
	case 22: /* MOV r64, imm64 */
		*g->p++ = 0x48 | (rm >= 8 ? 1 : 0), *g->p++ = (u8)(0xb8 | (rm & 7));
		put(g, imm(g), 8), g->insns++;
		break;
	case 23: /* LOCK ADD/OR/ADC/SBB/AND/SUB/XOR r/m, r on memory */
		*g->p++ = 0xf0;
		op1(g, sz, (u8)(pick(g, 7) << 3 | b), r, rm, true);
		break;
	case 24: /* CMP; LAHF, SAHF, or PUSHF; POPF (flags through AH and the stack) */
		cmp_rr(g);
		if (pick(g, 2)) {
			*g->p++ = pick(g, 2) ? 0x9f : 0x9e, g->insns++;
		} else {
			*g->p++ = 0x9c, g->insns++;
			*g->p++ = 0x9d, g->insns++;
		}
		break;
	case 25: /* CMPXCHG8B/16B [R14 + 16n] */
		if (pick(g, 2))
			*g->p++ = 0x49, *g->p++ = 0x0f, *g->p++ = 0xc7, *g->p++ = 0x4e; /* REX.WB, /1, [R14+d8] */
		else
			*g->p++ = 0x41, *g->p++ = 0x0f, *g->p++ = 0xc7, *g->p++ = 0x4e;
		*g->p++ = (u8)(16 * (int)pick(g, 15) - 128);
		g->insns++;
		break;
	case 26: /* ENTER n, 0; LEAVE */
		*g->p++ = 0xc8, put(g, pick(g, 64) * 8, 2), *g->p++ = 0, g->insns++;
		*g->p++ = 0xc9, g->insns++;
		break;
	case 27: { /* LOOP, LOOPE, LOOPNE or JRCXZ forward over an item (CMP first) */
		cmp_rr(g);
		u8 *j = g->p;
		*g->p++ = (u8)(0xe0 + pick(g, 4)), *g->p++ = 0, g->insns++;
		g->in_jcc = true;
		item(g);
		g->in_jcc = false;
		j[1] = (u8)(g->p - (j + 2));
		break;
	}
	case 28: /* SHLD/SHRD by CL below the operand size */
		w = wide(g);
		*g->p++ = 0xb1, *g->p++ = (u8)pick(g, (u32)bits(w)), g->insns++;
		op2(g, w, pick(g, 2) ? 0xa5 : 0xad, r, rm, mem);
		break;
	case 29: /* string instruction with 0x67 (ESI/EDI/ECX: the buffer is below 4 GiB) */
		string_item(g, true);
		break;
	default: { /* CBW/CWDE/CDQE, CWD/CDQ/CQO, CLC, STC, CMC */
		static const u8 one[] = {0x98, 0x99, 0xf8, 0xf9, 0xf5};
		u8 o = one[pick(g, sizeof(one))];
		w = wide(g);
		if (o <= 0x99 && w == 2)
			*g->p++ = 0x66;
		if (o <= 0x99 && w == 8)
			*g->p++ = 0x48;
		*g->p++ = o, g->insns++;
		break;
	}
	}
}

/* Writes one sequence at p; returns its length. */
static u64 sequence(struct gen *g, u8 *p)
{
	g->p = p;
	for (int i = 0; i < ITEMS; i++)
		item(g);
	cmp_rr(g);      /* defines every arithmetic flag */
	*g->p++ = 0xc3; /* ret */
	g->insns++;
	return (u64)(g->p - p);
}

static void start_state(struct gen *g, struct rgn_regs *r)
{
	for (int i = 0; i < 16; i++)
		r->gpr[i] = pick(g, 4) ? rnd(g) : imm(g);
	r->gpr[14] = (u64)dbuf + 128;
	r->rflags = 2 | (rnd(g) & 0x8d5); /* random CF PF AF ZF SF OF */
	for (int i = 0; i < DBUF; i += 8) {
		u64 v = rnd(g);
		memcpy(&dbuf[i], &v, 8);
	}
}

static void report(u64 seq, const u8 *code, u64 len, const struct rgn_regs *nat, const struct rgn_regs *emu)
{
	guest_printf("regions_diff: sequence %lu differs (%lu bytes):", seq, len);
	for (u64 i = 0; i < len; i++)
		guest_printf("%s%02x", i % 32 ? " " : "\n  ", code[i]);
	guest_printf("\n");
	rgn_regs_print("native", nat);
	rgn_regs_print("emulated", emu);
	for (int i = 0; i < DBUF; i++)
		if (dsaved[i] != dbuf[i])
			guest_printf("  buffer[%d]: native %02x emulated %02x\n", i, dsaved[i], dbuf[i]);
}

/* out: 0 sequences, 1 instructions generated (REP once, skipped ones too), 2 mismatches, 3 instructions the region ran,
 * 4 entries, 5 exits, 6 native TSC, 7 emulated TSC */
void scen_regions_diff(struct hv_boot_info *bi)
{
	struct gen g = {.rng = bi->arg ? bi->arg : 0x9e3779b97f4a7c15UL};
	u64 n = guest_page(30, GUEST_MAP_X), e = guest_page(31, GUEST_MAP_X), bad = 0, tn = 0, te = 0;
	s64 id = rgn_add((void *)e, PAGE_SIZE);
	GEXPECT(id >= 0);
	for (u64 s = 0; s < NSEQ; s++) {
		u64 len = sequence(&g, (u8 *)n);
		memcpy((void *)e, (void *)n, len);
		struct rgn_regs nat, emu;
		struct gen st = g; /* the same start state twice */
		start_state(&st, &nat);
		u64 t0 = rdtsc();
		rgn_invoke(&nat, (void *)n);
		tn += rdtsc() - t0;
		memcpy(dsaved, dbuf, DBUF);
		st = g;
		start_state(&st, &emu);
		t0 = rdtsc();
		rgn_invoke(&emu, (void *)e);
		te += rdtsc() - t0;
		g.rng = st.rng;
		bool diff = rgn_regs_diff(&nat, &emu, RGN_FLAGS_CMP) || memcmp(dsaved, dbuf, DBUF);
		if (diff && bad++ == 0)
			report(s, (const u8 *)n, len, &nat, &emu);
	}
	struct hv_region_stats rs = rgn_stats(id);
	rgn_remove(id);
	guest_printf("regions_diff: %d sequences, %lu instructions, %lu mismatches; region: %llu instructions, "
		     "%llu entries, %llu exits\n",
		     NSEQ, g.insns, bad, rs.instructions, rs.entries, rs.exits);
	GEXPECT_EQ(bad, 0);
	GEXPECT(rs.instructions > NSEQ); /* branches skip some, REP repeats some */
	GEXPECT_EQ(rs.unsupported, 0);   /* every one emulated, none left to the CPU */
	GEXPECT_EQ(rs.entries, NSEQ);
	GEXPECT_EQ(rs.exits, NSEQ);
	GEXPECT_EQ(rs.stepped, 0);
	unsigned long long *o = bi->out;
	o[0] = NSEQ, o[1] = g.insns, o[2] = bad, o[3] = rs.instructions, o[4] = rs.entries, o[5] = rs.exits;
	o[6] = tn, o[7] = te;
}
