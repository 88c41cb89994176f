/* fuse.c - pairs and triples of instructions run by one handler when a
 * whole trace runs: MOV d,s (32/64-bit registers) followed by ADD, OR, AND,
 * SUB, XOR or SHL/SHR/SAR by an immediate on d of the same size, the x86 way
 * of writing d = s op x, becomes one handler that reads s and writes d once
 * (one dispatch and one register round trip through memory less); after a
 * shift, an operation between d and s makes a triple; CMP/TEST and Jcc make
 * a pair. Like the flag twins (run.c flags_dead) a fused handler sits in fn
 * with the first instruction's own in alt and EMU_I_NF set, so a partial run
 * (budget, region end, single step) swaps it back and the instructions run
 * one by one. None of them can stop. */
#include "emu_internal.h"

/* The MOV's fields unused by a register MOV hold the pair (one byte load
 * each): s in base, d in op, the other register of the operation in index
 * (s where it was d: after the MOV d equals s), the sign-extended immediate
 * or the shift count in imm. */
static inline __attribute__((always_inline)) int
fuse_x(struct emu *e, const struct emu_insn *in, unsigned op, bool sh, bool imm, unsigned sz, bool nf)
{
	u64 m = emu_mask(sz), a = e->cpu.gpr[in->base] & m, b, r;
	unsigned cf, of;
	if (sh) {
		r = emu_shift(op, a, (unsigned)in->imm & (sz * 8 - 1), sz, &cf, &of);
		e->cpu.gpr[in->op] = r;
		if (!nf)
			emu_lf_res(e, r, sz, cf, of, 0);
	} else {
		b = (imm ? in->imm : e->cpu.gpr[in->index]) & m;
		r = emu_alu_val(op, a, b, 0, sz);
		e->cpu.gpr[in->op] = r;
		if (!nf)
			emu_alu_flags(e, op, a, b, r, sz);
	}
	return emu_next(e, in + 1);
}

#define FZ(k, op, sh, i)                                                                 \
	static EMU_H(fz##k##i##_4) { return fuse_x(e, in, op, sh, i, 4, 0); }           \
	static EMU_H(fz##k##i##_8) { return fuse_x(e, in, op, sh, i, 8, 0); }           \
	static EMU_H(fz##k##i##n4) { return fuse_x(e, in, op, sh, i, 4, 1); }           \
	static EMU_H(fz##k##i##n8) { return fuse_x(e, in, op, sh, i, 8, 1); }
#define FZ2(k, op) FZ(k, op, 0, 0) FZ(k, op, 0, 1)
FZ2(0, 0) FZ2(1, 1) FZ2(2, 4) FZ2(3, 5) FZ2(4, 6) FZ(5, 4, 1, 1) FZ(6, 5, 1, 1) FZ(7, 7, 1, 1)
#define FZ_T(k, i) {{fz##k##i##_4, fz##k##i##_8}, {fz##k##i##n4, fz##k##i##n8}}
static const emu_fn fused[8][2][2][2] = { /* [kind][imm][nf][size 8] */
	{FZ_T(0, 0), FZ_T(0, 1)}, {FZ_T(1, 0), FZ_T(1, 1)}, {FZ_T(2, 0), FZ_T(2, 1)},
	{FZ_T(3, 0), FZ_T(3, 1)}, {FZ_T(4, 0), FZ_T(4, 1)},
	{{{0, 0}, {0, 0}}, FZ_T(5, 1)}, {{{0, 0}, {0, 0}}, FZ_T(6, 1)}, {{{0, 0}, {0, 0}}, FZ_T(7, 1)},
};

/* MOV d,s; SHL, SHR or SAR d by an immediate; then ADD, OR, AND, SUB or XOR
 * between d and s, either way round (to_s: s op= d, else d op= s): the
 * shift-and-combine step of xorshift generators and hash finalisers
 * (h ^= h >> 33), one handler for the three. The shift's flags are dead (the
 * third writes them all); the MOV's fields hold the count, s and d as above. */
static inline __attribute__((always_inline)) int
fuse3_x(struct emu *e, const struct emu_insn *in, unsigned sh, unsigned op, bool to_s, unsigned sz, bool nf)
{
	u64 a = e->cpu.gpr[in->base] & emu_mask(sz), t, x, y, r;
	unsigned cf, of;
	t = emu_shift(sh, a, (unsigned)in->imm & (sz * 8 - 1), sz, &cf, &of);
	x = to_s ? a : t, y = to_s ? t : a;
	r = emu_alu_val(op, x, y, 0, sz);
	e->cpu.gpr[in->op] = to_s ? t : r;
	if (to_s)
		e->cpu.gpr[in->base] = r;
	if (!nf)
		emu_alu_flags(e, op, x, y, r, sz);
	return emu_next(e, in + 2);
}

#define F3V(k, sh, o, op, ts, nf, sz) \
	static EMU_H(f3##k##o##ts##nf##sz) { return fuse3_x(e, in, sh, op, ts, sz, nf); }
#define F3(k, sh, o, op) F3V(k, sh, o, op, 0, 0, 4) F3V(k, sh, o, op, 0, 0, 8) F3V(k, sh, o, op, 0, 1, 4) \
	F3V(k, sh, o, op, 0, 1, 8) F3V(k, sh, o, op, 1, 0, 4) F3V(k, sh, o, op, 1, 0, 8) \
	F3V(k, sh, o, op, 1, 1, 4) F3V(k, sh, o, op, 1, 1, 8)
#define F3S(k, sh) F3(k, sh, 0, 0) F3(k, sh, 1, 1) F3(k, sh, 2, 4) F3(k, sh, 3, 5) F3(k, sh, 4, 6)
F3S(0, 4) F3S(1, 5) F3S(2, 7)
#define F3_O(k, o) {{{f3##k##o##004, f3##k##o##008}, {f3##k##o##014, f3##k##o##018}}, \
		    {{f3##k##o##104, f3##k##o##108}, {f3##k##o##114, f3##k##o##118}}}
#define F3_S(k) {F3_O(k, 0), F3_O(k, 1), F3_O(k, 2), F3_O(k, 3), F3_O(k, 4)}
static const emu_fn fused3[3][5][2][2][2] = {F3_S(0), F3_S(1), F3_S(2)}; /* [shift][op][to_s][nf][size 8] */

/* o's handler with its flags (a twin's is in alt). */
static emu_fn full(const struct emu_insn *o)
{
	return (o->flags & EMU_I_NF) ? o->alt : o->fn;
}

/* MOV d,s between 32/64-bit registers: *s, *d. */
static bool mov_rr(const struct emu_insn *in, unsigned *s, unsigned *d)
{
	if ((in->flags & (EMU_I_MEM | EMU_I_NF)) || in->osz < 4)
		return false;
	if (in->fn == emu_mov_fast(emu_op_mov_rm_r, in))
		return *s = in->reg, *d = in->rm, true;
	if (in->fn == emu_mov_fast(emu_op_mov_r_rm, in))
		return *s = in->rm, *d = in->reg, true;
	return false;
}

/* The operation o as a fusable kind (fused[] row), its destination, its
 * other register or immediate; -1 if it is none of them. */
static int op_kind(const struct emu_insn *o, unsigned *d, unsigned *x, u32 *imm)
{
	static const emu_fn forms[3] = {emu_op_alu_rm_r, emu_op_alu_r_rm, emu_op_alu_rm_imm};
	static const signed char alu_kind[8] = {0, 1, -1, -1, 2, 3, 4, -1}, sh_kind[8] = {-1, -1, -1, -1, 5, 6, -1, 7};
	unsigned op = o->ext & 7, n = (unsigned)o->imm & (o->osz == 8 ? 63 : 31);
	if ((o->flags & EMU_I_MEM) || o->osz < 4)
		return -1;
	for (unsigned f = 0; f < 3; f++)
		if (alu_kind[op] >= 0 && full(o) == emu_alu_fast(forms[f], o)) {
			*d = f == 1 ? o->reg : o->rm;
			*x = f == 0 ? o->reg : o->rm;
			*imm = (u32)o->imm;
			return f == 2 ? alu_kind[op] | 8 : alu_kind[op];
		}
	if (sh_kind[op] >= 0 && o->imm2 == 0 && n && full(o) == emu_shift_fast(op, o->osz)) {
		*d = *x = o->rm;
		*imm = n;
		return sh_kind[op] | 8;
	}
	return -1;
}

/* The fused Jcc j is taken, not to run its trace again (one copy for all the handlers below). */
static __attribute__((noinline)) int jcc_taken(struct emu *e, const struct emu_insn *j)
{
	e->cpu.rip = j->imm;
	e->at = j;
	return EMU_BRANCH;
}

/* CMP or TEST (32/64-bit registers, or a register and an immediate) then
 * Jcc: the flags are written as CMP/TEST writes them and the condition is
 * decided from the operands at hand. The CMP/TEST decode's base and index
 * (unused by a register form) hold its first and second register. A loop
 * (a taken branch to the start of its own trace) runs the trace again at
 * once (emu_again). */
static inline __attribute__((always_inline)) int
fjcc_x(struct emu *e, const struct emu_insn *in, bool test, bool imm, unsigned sz, unsigned cc)
{
	const struct emu_insn *j = in + 1;
	u64 m = emu_mask(sz), a = e->cpu.gpr[in->base] & m, b = (imm ? in->imm : e->cpu.gpr[in->index]) & m;
	if (test)
		emu_lf_logic(e, a & b, sz);
	else
		emu_lf_sub(e, a, b, (a - b) & m, sz);
	if (!emu_cond(e, cc))
		return emu_next(e, j);
	if (likely(emu_may_again(e, j, j->imm)))
		return emu_again(e, j);
	return jcc_taken(e, j);
}

#define FJ(t, i, cc)                                                                     \
	static EMU_H(fj##t##i##4_##cc) { return fjcc_x(e, in, t, i, 4, cc); }            \
	static EMU_H(fj##t##i##8_##cc) { return fjcc_x(e, in, t, i, 8, cc); }
#define FJ4(cc) FJ(0, 0, cc) FJ(0, 1, cc) FJ(1, 0, cc) FJ(1, 1, cc)
FJ4(0) FJ4(1) FJ4(2) FJ4(3) FJ4(4) FJ4(5) FJ4(6) FJ4(7)
FJ4(8) FJ4(9) FJ4(10) FJ4(11) FJ4(12) FJ4(13) FJ4(14) FJ4(15)
#define FJ_R(n) {n##_0, n##_1, n##_2, n##_3, n##_4, n##_5, n##_6, n##_7,                 \
		 n##_8, n##_9, n##_10, n##_11, n##_12, n##_13, n##_14, n##_15}
static const emu_fn fused_jcc[2][2][2][16] = { /* [test][imm][size 8][cc] */
	{{FJ_R(fj004), FJ_R(fj008)}, {FJ_R(fj014), FJ_R(fj018)}},
	{{FJ_R(fj104), FJ_R(fj108)}, {FJ_R(fj114), FJ_R(fj118)}},
};

/* CMP/TEST in (not a twin) followed by a Jcc j with its own handler: the
 * fused handler, its operands in base and index; else NULL. */
static emu_fn cmp_jcc(struct emu_insn *in, const struct emu_insn *j)
{
	static const emu_fn forms[5] = {emu_op_alu_rm_r, emu_op_alu_r_rm, emu_op_alu_rm_imm, emu_op_test_rm_r,
					emu_op_test_rm_imm};
	unsigned f = 0;
	if ((in->flags & (EMU_I_MEM | EMU_I_NF)) || in->osz < 4 || j->fn != emu_jcc_fast(j->ext))
		return 0;
	while (f < 5 && in->fn != (f < 3 ? (in->ext == 7 ? emu_alu_fast(forms[f], in) : 0)
					  : emu_test_fast(forms[f], in)))
		f++;
	if (f == 5)
		return 0;
	in->base = f == 1 ? in->reg : in->rm;
	in->index = f == 1 ? in->rm : in->reg;
	return fused_jcc[f >= 3][f == 2 || f == 4][in->osz == 8][j->ext & 15];
}

/* in[0] MOV d,s and in[1] a shift of d (fused[] kind k) followed by an
 * operation on d and s that writes all flags (op_kind 0-4: a register ALU
 * op, in fused3[]'s order): its fused3[] handler, else NULL. */
static emu_fn triple(const struct emu_insn *in, int k, unsigned s, unsigned d)
{
	unsigned od, x;
	u32 imm;
	int k3 = (k & 7) >= 5 ? op_kind(&in[2], &od, &x, &imm) : -1;
	if (k3 < 0 || k3 > 4 || s == d || in[2].osz != in[0].osz || !(in[1].flags & EMU_I_NF) ||
	    !((od == d && x == s) || (od == s && x == d)))
		return 0;
	return fused3[(k & 7) - 5][k3][od == s][!!(in[2].flags & EMU_I_NF)][in[0].osz == 8];
}

/* Fuse the pairs and triples of the n decodes of a new trace (after flags_dead). */
void emu_fuse(struct emu_insn *in, unsigned n)
{
	for (unsigned i = 0; i + 1 < n; i++) {
		unsigned s, d, od, x;
		u32 imm;
		int k;
		emu_fn f = (in[i].flags & EMU_I_FW) ? cmp_jcc(&in[i], &in[i + 1]) : 0;
		if (f) {
			in[i].alt = in[i].fn, in[i].fn = f;
			in[i].flags |= EMU_I_NF;
			i++;
			continue;
		}
		if (!(in[i].flags & EMU_I_FT) || !(in[i + 1].flags & EMU_I_FW) || !mov_rr(&in[i], &s, &d) ||
		    (k = op_kind(&in[i + 1], &od, &x, &imm)) < 0 || od != d ||
		    in[i + 1].osz != in[i].osz)
			continue;
		in[i].imm = (u64)(i64)(i32)imm, in[i].base = (u8)s, in[i].op = (u8)d, in[i].index = (u8)(x == d ? s : x);
		if (i + 2 < n && (f = triple(in + i, k, s, d))) {
			in[i].alt = in[i].fn, in[i].fn = f;
			in[i].flags |= EMU_I_NF;
			i += 2;
			continue;
		}
		in[i].alt = in[i].fn;
		in[i].fn = fused[k & 7][k >> 3][!!(in[i + 1].flags & EMU_I_NF)][in[i].osz == 8];
		in[i].flags |= EMU_I_NF;
		i++;
	}
}
