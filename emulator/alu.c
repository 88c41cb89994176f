/* alu.c - integer arithmetic and logic: ADD..CMP, TEST, INC/DEC, NOT/NEG,
 * MUL/IMUL/DIV/IDIV, shifts and rotates, SHLD/SHRD (SDM instruction
 * pages of the same names). Flags go to the lazy-flag words; see
 * docs/emulator.md for the values chosen where the SDM says "undefined".
 * Memory destinations are written before any register or flag is committed,
 * so a fault leaves the state as it was before the instruction. */
#include "emu_internal.h"

static inline __attribute__((always_inline)) u64 alu(struct emu *e, unsigned op, u64 a, u64 b, unsigned sz)
{
	u64 r = emu_alu_val(op, a, b, (op == 2 || op == 3) ? emu_cf(e) : 0, sz);
	emu_alu_flags(e, op, a, b, r, sz);
	return r;
}

/* Apply op to E (read-modify-write) with source b; flags only once the write went through. */
static int alu_rm(struct emu *e, const struct emu_insn *in, unsigned op, u64 b)
{
	unsigned sz = in->osz;
	u64 a, la;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st)
		return st;
	b &= emu_mask(sz);
	u64 r = emu_alu_val(op, a, b, (op == 2 || op == 3) ? emu_cf(e) : 0, sz);
	if (op != 7 && (st = emu_wr_rm(e, in, sz, la, a, r, in->flags & EMU_I_LOCK)))
		return st;
	emu_alu_flags(e, op, a, b, r, sz);
	return 0;
}

EMU_G(emu_op_alu_rm_r)
{
	return emu_cont(e, in, alu_rm(e, in, in->ext, emu_rreg(e, emu_regreg(in, in->osz), in->osz)));
}


/* Specialised forms, one handler per operation, form (0: E op= G, 1: G op=
 * E, 2: E op= imm), operand kind and size, all constants folded by the
 * compiler; chosen at decode time for register operands and for memory
 * operands without LOCK, FS/GS or 0x67. Memory goes through the TLB; a miss
 * takes the generic handler, which redoes the instruction (nothing has
 * changed yet). Registers of 2 bytes or more are numbered 0-15. mem: 0
 * register, 1 memory, 2 memory without an index register (32/64 bits). */
static inline __attribute__((always_inline)) int
alu_x(struct emu *e, const struct emu_insn *in, unsigned op, unsigned form, unsigned mem, unsigned sz, bool nf)
{
	emu_fn slow = form == 0 ? emu_op_alu_rm_r : form == 1 ? emu_op_alu_r_rm : emu_op_alu_rm_imm;
	u64 m = emu_mask(sz), la = 0, ev, gv, a, b, r;
	u8 *p, *w;
	if (mem) {
		la = mem == 2 ? e->cpu.reg[in->base] + (u64)in->disp : emu_ea_fast(e, in);
		if (unlikely(!emu_tlb_get(e, la, sz, 0, &p)))
			return slow(e, in);
		ev = emu_load(p, sz);
	} else {
		ev = sz == 1 ? emu_rreg(e, in->rm8, 1) : e->cpu.gpr[in->rm] & m;
	}
	gv = form == 2 ? in->imm & m : sz == 1 ? emu_rreg(e, in->reg8, 1) : e->cpu.gpr[in->reg] & m;
	a = form == 1 ? gv : ev, b = form == 1 ? ev : gv;
	r = emu_alu_val(op, a, b, (op == 2 || op == 3) ? emu_cf(e) : 0, sz);
	if (op != 7) {
		if (mem && form != 1) {
			if (unlikely(!emu_tlb_get(e, la, sz, 1, &w)))
				return slow(e, in);
			emu_store(w, sz, r);
		} else if (sz >= 4) { /* r is zero-extended already */
			e->cpu.gpr[form == 1 ? in->reg : in->rm] = r;
		} else {
			emu_wreg(e, form == 1 ? (sz == 1 ? in->reg8 : in->reg) : (sz == 1 ? in->rm8 : in->rm), sz, r);
		}
	}
	if (!nf)
		emu_alu_flags(e, op, a, b, r, sz);
	return emu_next(e, in);
}

#define ALU_S(op, f, mm)                                                           \
	static EMU_H(a##op##f##mm##_1) { return alu_x(e, in, op, f, mm, 1, 0); }   \
	static EMU_H(a##op##f##mm##_2) { return alu_x(e, in, op, f, mm, 2, 0); }   \
	static EMU_H(a##op##f##mm##_4) { return alu_x(e, in, op, f, mm, 4, 0); }   \
	static EMU_H(a##op##f##mm##_8) { return alu_x(e, in, op, f, mm, 8, 0); }
#define ALU_F(op) ALU_S(op, 0, 0) ALU_S(op, 0, 1) ALU_S(op, 1, 0) ALU_S(op, 1, 1) ALU_S(op, 2, 0) ALU_S(op, 2, 1)
ALU_F(0) ALU_F(1) ALU_F(2) ALU_F(3) ALU_F(4) ALU_F(5) ALU_F(6) ALU_F(7)
#define ALU_T(op, f, mm) {a##op##f##mm##_1, a##op##f##mm##_2, a##op##f##mm##_4, a##op##f##mm##_8}
#define ALU_R(op) {{ALU_T(op, 0, 0), ALU_T(op, 0, 1)}, {ALU_T(op, 1, 0), ALU_T(op, 1, 1)}, \
		   {ALU_T(op, 2, 0), ALU_T(op, 2, 1)}}
static const emu_fn alu_tab[8][3][2][4] = {ALU_R(0), ALU_R(1), ALU_R(2), ALU_R(3),
					   ALU_R(4), ALU_R(5), ALU_R(6), ALU_R(7)};
#define ALU_B(op, f)                                                               \
	static EMU_H(a##op##f##b_4) { return alu_x(e, in, op, f, 2, 4, 0); }       \
	static EMU_H(a##op##f##b_8) { return alu_x(e, in, op, f, 2, 8, 0); }
#define ALU_BF(op) ALU_B(op, 0) ALU_B(op, 1) ALU_B(op, 2)
ALU_BF(0) ALU_BF(1) ALU_BF(2) ALU_BF(3) ALU_BF(4) ALU_BF(5) ALU_BF(6) ALU_BF(7)
#define ALU_BT(op) {{a##op##0b_4, a##op##0b_8}, {a##op##1b_4, a##op##1b_8}, {a##op##2b_4, a##op##2b_8}}
static const emu_fn alu_base[8][3][2] = {ALU_BT(0), ALU_BT(1), ALU_BT(2), ALU_BT(3),
					 ALU_BT(4), ALU_BT(5), ALU_BT(6), ALU_BT(7)};
/* The no-flags twins (emu_nf) of the 32/64-bit register forms of ADD, OR, AND, SUB, XOR. */
#define ALU_N(op, f)                                                               \
	static EMU_H(a##op##f##n_4) { return alu_x(e, in, op, f, 0, 4, 1); }       \
	static EMU_H(a##op##f##n_8) { return alu_x(e, in, op, f, 0, 8, 1); }
#define ALU_NF(op) ALU_N(op, 0) ALU_N(op, 1) ALU_N(op, 2)
ALU_NF(0) ALU_NF(1) ALU_NF(4) ALU_NF(5) ALU_NF(6)
#define ALU_NT(op) {{a##op##0n_4, a##op##0n_8}, {a##op##1n_4, a##op##1n_8}, {a##op##2n_4, a##op##2n_8}}
static const emu_fn alu_nf[8][3][2] = {[0] = ALU_NT(0), [1] = ALU_NT(1), [4] = ALU_NT(4),
				       [5] = ALU_NT(5), [6] = ALU_NT(6)};
/* ... and of G op= m32/m64 (they may stop: run.c flags_dead keeps the flags before them) */
#define ALU_M(op)                                                                  \
	static EMU_H(a##op##1m_4) { return alu_x(e, in, op, 1, 1, 4, 1); }        \
	static EMU_H(a##op##1m_8) { return alu_x(e, in, op, 1, 1, 8, 1); }        \
	static EMU_H(a##op##1mb_4) { return alu_x(e, in, op, 1, 2, 4, 1); }       \
	static EMU_H(a##op##1mb_8) { return alu_x(e, in, op, 1, 2, 8, 1); }
ALU_M(0) ALU_M(1) ALU_M(4) ALU_M(5) ALU_M(6)
#define ALU_MT(op) [op] = {{a##op##1m_4, a##op##1m_8}, {a##op##1mb_4, a##op##1mb_8}}
static const emu_fn alu_nfm[8][2][2] = {ALU_MT(0), ALU_MT(1), ALU_MT(4), ALU_MT(5), ALU_MT(6)}; /* [op][no index][8] */

/* The specialised ALU handler for in (decoded with the generic fn). */
emu_fn emu_alu_fast(emu_fn fn, const struct emu_insn *in)
{
	unsigned form = fn == emu_op_alu_rm_r ? 0 : fn == emu_op_alu_r_rm ? 1 : 2;
	bool mem = in->flags & EMU_I_MEM;
	if (mem && (in->flags & (EMU_I_SLOWEA | EMU_I_LOCK)))
		return fn;
	if (mem && in->index == EMU_ZREG && in->osz >= 4)
		return alu_base[in->ext & 7][form][in->osz == 8];
	return alu_tab[in->ext & 7][form][mem][in->osz == 8 ? 3 : in->osz / 2];
}

EMU_G(emu_op_alu_rm_imm)
{
	return emu_cont(e, in, alu_rm(e, in, in->ext, in->imm));
}

EMU_G(emu_op_alu_r_rm)
{
	unsigned sz = in->osz, r = emu_regreg(in, sz);
	u64 b, la;
	int st = emu_rd_rm(e, in, sz, &b, &la);
	if (st)
		return st;
	u64 v = alu(e, in->ext, emu_rreg(e, r, sz), b, sz);
	if (in->ext != 7)
		emu_wreg(e, r, sz, v);
	return emu_next(e, in);
}

EMU_G(emu_op_test_rm_r)
{
	u64 a, la;
	int st = emu_rd_rm(e, in, in->osz, &a, &la);
	if (!st)
		emu_lf_logic(e, a & emu_rreg(e, emu_regreg(in, in->osz), in->osz), in->osz);
	return emu_cont(e, in, st);
}

EMU_G(emu_op_test_rm_imm)
{
	u64 a, la;
	int st = emu_rd_rm(e, in, in->osz, &a, &la);
	if (!st)
		emu_lf_logic(e, a & in->imm & emu_mask(in->osz), in->osz);
	return emu_cont(e, in, st);
}

/* TEST E,G and TEST E,imm, specialised like the ALU forms above. */
static inline __attribute__((always_inline)) int
test_x(struct emu *e, const struct emu_insn *in, bool imm, bool mem, unsigned sz)
{
	u64 m = emu_mask(sz), ev;
	u8 *p;
	if (mem) {
		if (unlikely(!emu_tlb_get(e, emu_ea_fast(e, in), sz, 0, &p)))
			return imm ? emu_op_test_rm_imm(e, in) : emu_op_test_rm_r(e, in);
		ev = emu_load(p, sz);
	} else {
		ev = sz == 1 ? emu_rreg(e, in->rm8, 1) : e->cpu.gpr[in->rm] & m;
	}
	emu_lf_logic(e, ev & (imm ? in->imm & m : sz == 1 ? emu_rreg(e, in->reg8, 1) : e->cpu.gpr[in->reg] & m), sz);
	return emu_next(e, in);
}

#define TEST_S(i, mm)                                                              \
	static EMU_H(t##i##mm##_1) { return test_x(e, in, i, mm, 1); }             \
	static EMU_H(t##i##mm##_2) { return test_x(e, in, i, mm, 2); }             \
	static EMU_H(t##i##mm##_4) { return test_x(e, in, i, mm, 4); }             \
	static EMU_H(t##i##mm##_8) { return test_x(e, in, i, mm, 8); }
TEST_S(0, 0) TEST_S(0, 1) TEST_S(1, 0) TEST_S(1, 1)
#define TEST_T(i, mm) {t##i##mm##_1, t##i##mm##_2, t##i##mm##_4, t##i##mm##_8}
static const emu_fn test_tab[2][2][4] = {{TEST_T(0, 0), TEST_T(0, 1)}, {TEST_T(1, 0), TEST_T(1, 1)}};

emu_fn emu_test_fast(emu_fn fn, const struct emu_insn *in)
{
	bool mem = in->flags & EMU_I_MEM;
	if (mem && (in->flags & EMU_I_SLOWEA))
		return fn;
	return test_tab[fn == emu_op_test_rm_imm][mem][in->osz == 8 ? 3 : in->osz / 2];
}

/* INC/DEC (ext 0/1): like ADD/SUB 1 but CF is preserved. */
EMU_G(emu_op_incdec)
{
	unsigned sz = in->osz;
	u64 a, la, r;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st)
		return st;
	r = (in->ext ? a - 1 : a + 1) & emu_mask(sz);
	if ((st = emu_wr_rm(e, in, sz, la, a, r, in->flags & EMU_I_LOCK)))
		return st;
	e->cpu.lf_b = emu_cf(e);
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_a = emu_sx(a, sz);
	e->cpu.lf_op = in->ext ? EMU_LF_DEC : EMU_LF_INC;
	return emu_next(e, in);
}

EMU_G(emu_op_not)
{
	u64 a, la;
	int st = emu_rd_rm(e, in, in->osz, &a, &la);
	if (st)
		return st;
	return emu_cont(e, in, emu_wr_rm(e, in, in->osz, la, a, ~a & emu_mask(in->osz),
			 in->flags & EMU_I_LOCK));
}

EMU_G(emu_op_neg)
{
	unsigned sz = in->osz;
	u64 a, la;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st)
		return st;
	u64 r = (0 - a) & emu_mask(sz);
	if ((st = emu_wr_rm(e, in, sz, la, a, r, in->flags & EMU_I_LOCK)))
		return st;
	emu_lf_sub(e, 0, a, r, sz);
	return emu_next(e, in);
}

/* INC, DEC, NOT, NEG of a 32/64-bit register. */
static inline __attribute__((always_inline)) int
unary_r(struct emu *e, const struct emu_insn *in, unsigned op, unsigned sz)
{
	u64 *g = &e->cpu.gpr[in->rm], a = *g & emu_mask(sz), r;
	switch (op) {
	case 0: case 1:
		r = (op ? a - 1 : a + 1) & emu_mask(sz);
		e->cpu.lf_b = emu_cf(e);
		e->cpu.lf_res = emu_sx(r, sz);
		e->cpu.lf_a = emu_sx(a, sz);
		e->cpu.lf_op = op ? EMU_LF_DEC : EMU_LF_INC;
		break;
	case 2: r = ~a & emu_mask(sz); break;
	default: r = (0 - a) & emu_mask(sz); emu_lf_sub(e, 0, a, r, sz); break;
	}
	*g = r;
	return emu_next(e, in);
}

#define UNARY(op)                                                        \
	static EMU_H(un##op##_4) { return unary_r(e, in, op, 4); }       \
	static EMU_H(un##op##_8) { return unary_r(e, in, op, 8); }
UNARY(0) UNARY(1) UNARY(2) UNARY(3)

emu_fn emu_unary_fast(emu_fn fn, const struct emu_insn *in)
{
	static const emu_fn f[4][2] = {{un0_4, un0_8}, {un1_4, un1_8}, {un2_4, un2_8}, {un3_4, un3_8}};
	unsigned op = fn == emu_op_incdec ? in->ext : fn == emu_op_not ? 2 : 3;
	return f[op][in->osz == 8];
}

/* Store a double-width product/dividend result: AX for bytes, rDX:rAX. */
static void put_pair(struct emu *e, unsigned sz, u64 lo, u64 hi)
{
	if (sz == 1) {
		emu_wreg(e, EMU_RAX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
		return;
	}
	emu_wreg(e, EMU_RAX, sz, lo);
	emu_wreg(e, EMU_RDX, sz, hi);
}

/* MUL (F6/F7 /4): CF=OF=upper half non-zero; SF/ZF/PF from the low half,
 * AF cleared (all four undefined per SDM). */
EMU_G(emu_op_mul1)
{
	unsigned sz = in->osz, bits = sz * 8;
	u64 b, la, lo, hi, a = emu_rreg(e, EMU_RAX, sz);
	int st = emu_rd_rm(e, in, sz, &b, &la);
	if (st)
		return st;
	if (sz == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;
		lo = (u64)p;
		hi = (u64)(p >> 64);
	} else {
		u64 p = a * b;
		lo = p & emu_mask(sz);
		hi = p >> bits;
	}
	put_pair(e, sz, lo, hi);
	emu_lf_res(e, lo, sz, hi != 0, hi != 0, 0);
	return emu_next(e, in);
}

/* IMUL (F6/F7 /5), one operand: CF=OF when the product needs the upper half. */
EMU_G(emu_op_imul1)
{
	unsigned sz = in->osz, bits = sz * 8;
	u64 b, la, lo, hi;
	i64 a = (i64)emu_sx(emu_rreg(e, EMU_RAX, sz), sz);
	int st = emu_rd_rm(e, in, sz, &b, &la);
	if (st)
		return st;
	if (sz == 8) {
		__int128 p = (__int128)a * (i64)b;
		lo = (u64)p;
		hi = (u64)(p >> 64);
	} else {
		i64 p = a * (i64)emu_sx(b, sz);
		lo = (u64)p & emu_mask(sz);
		hi = ((u64)(p >> bits)) & emu_mask(sz);
	}
	unsigned ov = emu_sx(lo, sz) >> 63 ? hi != emu_mask(sz) : hi != 0;
	put_pair(e, sz, lo, hi);
	emu_lf_res(e, lo, sz, ov, ov, 0);
	return emu_next(e, in);
}

/* Truncated signed product of two sz-byte values; *ov when it overflowed. */
static u64 imul_trunc(u64 a, u64 b, unsigned sz, unsigned *ov)
{
	if (sz == 8) {
		__int128 p = (__int128)(i64)a * (i64)b;
		*ov = p != (__int128)(i64)(u64)p;
		return (u64)p;
	}
	i64 p = (i64)emu_sx(a, sz) * (i64)emu_sx(b, sz);
	*ov = (i64)emu_sx((u64)p, sz) != p;
	return (u64)p & emu_mask(sz);
}

EMU_G(emu_op_imul_r_rm)
{
	unsigned sz = in->osz, ov;
	u64 b, la;
	int st = emu_rd_rm(e, in, sz, &b, &la);
	if (st)
		return st;
	u64 r = imul_trunc(emu_rreg(e, in->reg, sz), b, sz, &ov);
	emu_wreg(e, in->reg, sz, r);
	emu_lf_res(e, r, sz, ov, ov, 0);
	return emu_next(e, in);
}

/* IMUL r32/r64, r/m (0F AF) and IMUL r, r/m, imm (69, 6B) specialised like the ALU forms. */
static inline __attribute__((always_inline)) int imul_x(struct emu *e, const struct emu_insn *in, bool mem, unsigned sz,
							bool imm)
{
	u8 *p;
	u64 b;
	unsigned ov;
	if (!mem)
		b = e->cpu.gpr[in->rm];
	else if (likely(emu_tlb_get(e, emu_ea_fast(e, in), sz, 0, &p)))
		b = emu_load(p, sz);
	else
		return imm ? emu_op_imul_r_rm_imm(e, in) : emu_op_imul_r_rm(e, in);
	u64 r = imul_trunc(imm ? b : e->cpu.gpr[in->reg], imm ? in->imm : b, sz, &ov);
	e->cpu.gpr[in->reg] = r;
	emu_lf_res(e, r, sz, ov, ov, 0);
	return emu_next(e, in);
}
#define IMUL_S(i, mm)                                                                   \
	static EMU_H(imul##i##mm##_4) { return imul_x(e, in, mm, 4, i); }               \
	static EMU_H(imul##i##mm##_8) { return imul_x(e, in, mm, 8, i); }
IMUL_S(0, 0) IMUL_S(0, 1) IMUL_S(1, 0) IMUL_S(1, 1)

emu_fn emu_imul_fast(emu_fn fn, const struct emu_insn *in)
{
	static const emu_fn f[2][2][2] = {{{imul00_4, imul00_8}, {imul01_4, imul01_8}},
					  {{imul10_4, imul10_8}, {imul11_4, imul11_8}}};
	bool mem = in->flags & EMU_I_MEM;
	if (in->osz < 4 || (mem && (in->flags & EMU_I_SLOWEA)))
		return fn;
	return f[fn == emu_op_imul_r_rm_imm][mem][in->osz == 8];
}

EMU_G(emu_op_imul_r_rm_imm)
{
	unsigned sz = in->osz, ov;
	u64 b, la;
	int st = emu_rd_rm(e, in, sz, &b, &la);
	if (st)
		return st;
	u64 r = imul_trunc(b, in->imm & emu_mask(sz), sz, &ov);
	emu_wreg(e, in->reg, sz, r);
	emu_lf_res(e, r, sz, ov, ov, 0);
	return emu_next(e, in);
}

/* 128/64 unsigned division, hi < d required (restoring shift-subtract). */
static u64 udiv128(u64 hi, u64 lo, u64 d, u64 *rem)
{
	if (!hi) {
		*rem = lo % d;
		return lo / d;
	}
	for (int i = 0; i < 64; i++) {
		u64 top = hi >> 63;
		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		if (top || hi >= d) {
			hi -= d;
			lo |= 1;
		}
	}
	*rem = hi;
	return lo;
}

/* Dividend for DIV/IDIV: AX, DX:AX, EDX:EAX or RDX:RAX as (hi, lo). */
static void dividend(struct emu *e, unsigned sz, u64 *hi, u64 *lo)
{
	unsigned bits = sz * 8;
	if (sz == 8) {
		*hi = e->cpu.gpr[EMU_RDX];
		*lo = e->cpu.gpr[EMU_RAX];
		return;
	}
	u64 v = sz == 1 ? emu_rreg(e, EMU_RAX, 2)
			: (emu_rreg(e, EMU_RDX, sz) << bits) | emu_rreg(e, EMU_RAX, sz);
	*hi = 0;
	*lo = v;
}

/* DIV (F6/F7 /6): #DE on zero divisor or quotient overflow; flags kept. */
EMU_G(emu_op_div)
{
	unsigned sz = in->osz;
	u64 d, la, hi, lo, q, r;
	int st = emu_rd_rm(e, in, sz, &d, &la);
	if (st)
		return st;
	dividend(e, sz, &hi, &lo);
	if (!d)
		return emu_raise(e, EMU_EXC_DE, false, 0);
	if (sz == 8 ? hi >= d : (lo / d) > emu_mask(sz))
		return emu_raise(e, EMU_EXC_DE, false, 0);
	q = udiv128(hi, lo, d, &r);
	put_pair(e, sz, q, r);
	return emu_next(e, in);
}

/* IDIV (F6/F7 /7): magnitude division, then signs; #DE when out of range. */
EMU_G(emu_op_idiv)
{
	unsigned sz = in->osz;
	u64 d, la, hi, lo, q, r;
	int st = emu_rd_rm(e, in, sz, &d, &la);
	if (st)
		return st;
	dividend(e, sz, &hi, &lo);
	if (!d)
		return emu_raise(e, EMU_EXC_DE, false, 0);
	if (sz < 8) {
		lo = emu_sx(lo, sz * 2);
		hi = (u64)((i64)lo >> 63);
	}
	bool nn = hi >> 63, dn = emu_sx(d, sz) >> 63;
	u64 dm = dn ? 0 - emu_sx(d, sz) : d;
	if (nn) {
		lo = 0 - lo;
		hi = ~hi + (lo == 0);
	}
	if (hi >= dm)
		return emu_raise(e, EMU_EXC_DE, false, 0);
	q = udiv128(hi, lo, dm, &r);
	u64 lim = 1ull << (sz * 8 - 1);
	if (q > lim - (nn == dn))
		return emu_raise(e, EMU_EXC_DE, false, 0);
	put_pair(e, sz, nn != dn ? 0 - q : q, nn ? 0 - r : r);
	return emu_next(e, in);
}

/* Rotates through CF, one bit at a time (SDM "RCL/RCR/ROL/ROR"). */
static u64 rotate_carry(u64 v, unsigned n, unsigned bits, bool left, unsigned *cf)
{
	u64 top = 1ull << (bits - 1);
	for (unsigned i = 0; i < n; i++) {
		unsigned c = *cf;
		if (left) {
			*cf = (v & top) != 0;
			v = (v << 1) | c;
		} else {
			*cf = v & 1;
			v = (v >> 1) | (c ? top : 0);
		}
	}
	return v & (bits == 64 ? ~0ull : (top << 1) - 1);
}

/* ROL/ROR/RCL/RCR (ops 0-3): result, *cf and *of. */
static inline __attribute__((always_inline)) u64
rot(const struct emu *e, unsigned op, u64 a, unsigned n, unsigned sz, unsigned *cf, unsigned *of)
{
	unsigned bits = sz * 8;
	u64 m = emu_mask(sz), r;
	if (op < 2) {
		unsigned k = n & (bits - 1);
		if (op == 0)
			r = k ? ((a << k) | (a >> (bits - k))) & m : a;
		else
			r = k ? ((a >> k) | (a << (bits - k))) & m : a;
		*cf = op == 0 ? r & 1 : (r >> (bits - 1)) & 1;
		*of = op == 0 ? ((r >> (bits - 1)) & 1) ^ *cf
			      : ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
	} else {
		unsigned k = bits < 32 ? n % (bits + 1) : n;
		unsigned cf0 = emu_cf(e);
		*cf = cf0;
		r = rotate_carry(a, k, bits, op == 2, cf);
		*of = op == 2 ? ((r >> (bits - 1)) & 1) ^ *cf
			      : ((a >> (bits - 1)) & 1) ^ cf0;
	}
	return r;
}

static inline __attribute__((always_inline)) u64
grp2(const struct emu *e, unsigned op, u64 a, unsigned n, unsigned sz, unsigned *cf, unsigned *of)
{
	return op < 4 ? rot(e, op, a, n, sz, cf, of) : emu_shift(op, a, n, sz, cf, of);
}

/* Rotates change only CF and OF; shifts set all six (AF = 0). */
static inline __attribute__((always_inline)) void
grp2_flags(struct emu *e, unsigned op, u64 r, unsigned sz, unsigned cf, unsigned of)
{
	if (op >= 4) {
		emu_lf_res(e, r, sz, cf, of, 0);
		return;
	}
	u32 k = e->cpu.lf_op;
	k = (k & 15) == EMU_LF_ROT ? (k >> 4) & 15 : k;
	e->cpu.lf_op = EMU_LF_ROT | k << 4 | cf << 8 | of << 9;
}

/* A zero count leaves flags and memory alone, but a 32-bit register
 * destination is still written, i.e. zero-extended (observed on hardware). */
static int count0(struct emu *e, const struct emu_insn *in, u64 a)
{
	if (!(in->flags & EMU_I_MEM) && in->osz == 4)
		emu_wreg(e, in->rm, 4, a);
	return emu_next(e, in);
}

/* Group 2 (C0/C1/D0-D3): count from imm8, 1 or CL (insn.imm2 = 0/1/2),
 * masked to 5 bits (6 with REX.W). A zero count changes nothing. */
EMU_G(emu_op_shift)
{
	unsigned sz = in->osz, op = in->ext, cf, of;
	u64 a, la, r;
	unsigned n = in->imm2 == 2 ? (unsigned)e->cpu.gpr[EMU_RCX] : (unsigned)in->imm;
	n &= sz == 8 ? 63 : 31;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st || !n)
		return st ? st : count0(e, in, a);
	r = grp2(e, op, a, n, sz, &cf, &of);
	if ((st = emu_wr_rm(e, in, sz, la, a, r, false)))
		return st;
	grp2_flags(e, op, r, sz, cf, of);
	return emu_next(e, in);
}

/* Register destination, 32/64-bit: one specialised handler per operation
 * and size (chosen at decode time), with the same semantics as above. */
static inline __attribute__((always_inline)) int
shift_r(struct emu *e, const struct emu_insn *in, unsigned op, unsigned sz, bool nf)
{
	unsigned n = in->imm2 == 2 && !nf ? (unsigned)e->cpu.gpr[EMU_RCX] : (unsigned)in->imm, cf, of;
	u64 a = e->cpu.gpr[in->rm] & emu_mask(sz);
	n &= sz == 8 ? 63 : 31;
	if (!n && !nf) /* the twins have a non-zero immediate count */
		return count0(e, in, a);
	u64 r = grp2(e, op, a, n, sz, &cf, &of);
	e->cpu.gpr[in->rm] = r; /* zero-extended */
	if (!nf)
		grp2_flags(e, op, r, sz, cf, of);
	return emu_next(e, in);
}

#define SHIFT_FAST(op)                                                   \
	static EMU_H(sh##op##_4) { return shift_r(e, in, op, 4, 0); }    \
	static EMU_H(sh##op##_8) { return shift_r(e, in, op, 8, 0); }
#define SHIFT_NF(op)                                                     \
	static EMU_H(sh##op##n_4) { return shift_r(e, in, op, 4, 1); }   \
	static EMU_H(sh##op##n_8) { return shift_r(e, in, op, 8, 1); }
SHIFT_FAST(0) SHIFT_FAST(1) SHIFT_FAST(2) SHIFT_FAST(3)
SHIFT_FAST(4) SHIFT_FAST(5) SHIFT_FAST(6) SHIFT_FAST(7)
SHIFT_NF(4) SHIFT_NF(5) SHIFT_NF(6) SHIFT_NF(7)
static const emu_fn shift_fast[8][2] = {
	{sh0_4, sh0_8}, {sh1_4, sh1_8}, {sh2_4, sh2_8}, {sh3_4, sh3_8},
	{sh4_4, sh4_8}, {sh5_4, sh5_8}, {sh6_4, sh6_8}, {sh7_4, sh7_8},
};

emu_fn emu_shift_fast(unsigned op, unsigned osz)
{
	return osz < 4 ? emu_op_shift : shift_fast[op & 7][osz == 8];
}

static EMU_H(skip)
{
	return emu_next(e, in);
}

/* The twin of in (decoded with the generic fn) without the flag writes, if
 * in sets all six arithmetic flags and reads none: ADD, OR, AND, SUB, XOR,
 * CMP, TEST on 32/64-bit registers, SHL/SHR/SAR by a non-zero immediate
 * count (these cannot stop), ADD, OR, AND, SUB, XOR r32/r64, m (these may). run.c uses it where a later instruction of the
 * trace overwrites the flags before anything can see them. Else NULL. */
emu_fn emu_nf(emu_fn fn, const struct emu_insn *in)
{
	static const emu_fn shift_nf[4][2] = {{sh4n_4, sh4n_8}, {sh5n_4, sh5n_8}, {sh6n_4, sh6n_8},
					      {sh7n_4, sh7n_8}};
	unsigned op = in->ext & 7, w = in->osz == 8;
	if ((in->flags & EMU_I_LOCK) || in->osz < 4)
		return 0;
	if (in->flags & EMU_I_MEM)
		return fn == emu_op_alu_r_rm && !(in->flags & EMU_I_SLOWEA) ? alu_nfm[op][in->index == EMU_ZREG][w] : 0;
	if (fn == emu_op_test_rm_r || fn == emu_op_test_rm_imm)
		return skip;
	if (fn == emu_op_alu_rm_r || fn == emu_op_alu_r_rm || fn == emu_op_alu_rm_imm)
		return op == 7 ? skip : alu_nf[op][fn == emu_op_alu_rm_r ? 0 : fn == emu_op_alu_r_rm ? 1 : 2][w];
	if (fn == emu_op_shift && op >= 4 && in->imm2 == 0 && (in->imm & (w ? 63 : 31)))
		return shift_nf[op - 4][w];
	return 0;
}

/* SHLD/SHRD (0F A4/A5/AC/AD): ext 0 = left; count imm8 or CL. For 16-bit
 * operands with counts above 16 the SDM leaves the result undefined; this
 * shifts the 32-bit concatenation dst:src (or src:dst). */
EMU_G(emu_op_shd)
{
	unsigned sz = in->osz, bits = sz * 8, cf;
	u64 a, la, r, m = emu_mask(sz);
	unsigned n = (unsigned)(in->imm2 == 2 ? e->cpu.gpr[EMU_RCX] : in->imm);
	u64 s = emu_rreg(e, in->reg, sz);
	n &= sz == 8 ? 63 : 31;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st || !n)
		return st ? st : count0(e, in, a);
	if (sz == 2 && in->ext) {
		u64 w = (s << 16) | a;
		r = (w >> n) & m;
		cf = (w >> (n - 1)) & 1;
	} else if (sz == 2) {
		u64 w = (a << 16) | s;
		r = ((w << n) >> 16) & m;
		cf = ((w << n) >> 32) & 1;
	} else if (in->ext) {
		r = ((a >> n) | (s << (bits - n))) & m;
		cf = (a >> (n - 1)) & 1;
	} else {
		r = ((a << n) | (s >> (bits - n))) & m;
		cf = (a >> (bits - n)) & 1;
	}
	if ((st = emu_wr_rm(e, in, sz, la, a, r, false)))
		return st;
	emu_lf_res(e, r, sz, cf, ((r ^ a) >> (bits - 1)) & 1, 0);
	return emu_next(e, in);
}
