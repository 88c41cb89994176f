/* bits.c - RFLAGS assembly from the lazy-flag words, condition codes, and
 * the flag/bit instructions: SETcc, CMOVcc, BT/BTS/BTR/BTC, BSF/BSR,
 * TZCNT/LZCNT/POPCNT, XADD, CMPXCHG, CMPXCHG8B/16B, BSWAP, CBW/CWD families,
 * CLC/STC/CMC/CLD/STD, LAHF/SAHF (SDM instruction pages of the same names).
 * CMPXCHG16B is not atomic against other CPUs (no 16-byte CAS here). */
#include "emu_internal.h"

/* CF from the lazy state of kind k (the kinds emu_cf() does not do inline).
 * Borrow and carry vectors (SDM "ADC", "SBB"): bit 63 of the sign-extended
 * operands is the carry out of the operand's top bit. */
static unsigned cf_of(const struct emu_cpu *c, unsigned k)
{
	u64 a = c->lf_a, b = c->lf_b, r = c->lf_res;
	switch (k) {
	case EMU_LF_ADD: return ((a & b) | ((a | b) & ~r)) >> 63;
	case EMU_LF_SUB: return a < b;
	case EMU_LF_SBB: return ((~a & b) | ((~a | b) & r)) >> 63;
	case EMU_LF_LOGIC: return 0;
	case EMU_LF_ROT: return (c->lf_op >> 8) & 1;
	default: return b & 1; /* INC, DEC, CO and FLAGS keep CF in bit 0 of b */
	}
}

unsigned emu_cf_slow(const struct emu *e)
{
	return cf_of(&e->cpu, e->cpu.lf_op & 15);
}

/* The six arithmetic flags of kind k in their RFLAGS positions. OF: the
 * operands' top bits agree and the result's differs (ADD), or they differ and
 * the result's differs from the first (SUB); AF: the carry into bit 4, bit 4
 * of a^b^r. */
static u64 flags_of(const struct emu_cpu *c, unsigned k)
{
	u64 r = c->lf_res, a = c->lf_a, b = c->lf_b, f;
	switch (k) {
	case EMU_LF_FLAGS: return b;
	case EMU_LF_CO: return b | ((u64)(r == 0) << 6) | ((r >> 63) << 7) | ((u64)emu_parity(r) << 2);
	case EMU_LF_LOGIC: f = 0; break;
	case EMU_LF_ADD: f = (((a ^ r) & (b ^ r)) >> 63) << 11 | ((a ^ b ^ r) & 0x10); break;
	case EMU_LF_INC: f = (((a ^ r) & (1 ^ r)) >> 63) << 11 | ((a ^ 1 ^ r) & 0x10); break;
	case EMU_LF_DEC: f = (((a ^ 1) & (a ^ r)) >> 63) << 11 | ((a ^ 1 ^ r) & 0x10); break;
	default: f = (((a ^ b) & (a ^ r)) >> 63) << 11 | ((a ^ b ^ r) & 0x10); break; /* SUB, SBB */
	}
	return f | cf_of(c, k) | ((u64)(r == 0) << 6) | ((r >> 63) << 7) | ((u64)emu_parity(r) << 2);
}

u64 emu_arith_flags(const struct emu *e)
{
	u32 op = e->cpu.lf_op;
	if ((op & 15) != EMU_LF_ROT)
		return flags_of(&e->cpu, op);
	u64 f = flags_of(&e->cpu, (op >> 4) & 15) & ~(u64)(EMU_CF | EMU_OF);
	return f | ((op >> 8) & 1) | (((u64)op >> 9 & 1) << 11);
}

/* Explicit flags: b holds them; res is 0 exactly when ZF is set. */
void emu_set_arith_flags(struct emu *e, u64 f)
{
	e->cpu.lf_b = f & EMU_ARITH_FLAGS;
	e->cpu.lf_res = !(f & EMU_ZF);
	e->cpu.lf_op = EMU_LF_FLAGS;
}

bool emu_cond_slow(const struct emu *e, unsigned cc)
{
	u64 f = emu_arith_flags(e);
	unsigned of = (f >> 11) & 1, sf = (f >> 7) & 1, zf = (f >> 6) & 1, r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = f & 1; break;
	case 2: r = zf; break;
	case 3: r = (f & 1) | zf; break;
	case 4: r = sf; break;
	case 5: r = (f >> 2) & 1; break;
	case 6: r = sf ^ of; break;
	default: r = zf | (sf ^ of); break;
	}
	return r ^ (cc & 1);
}

u64 emu_get_rflags(const struct emu *e)
{
	return (e->cpu.rflags_sys & ~(u64)EMU_ARITH_FLAGS) | emu_arith_flags(e) | 2;
}

void emu_set_rflags(struct emu *e, u64 f)
{
	e->cpu.rflags_sys = (f & ~(u64)EMU_ARITH_FLAGS) | 2;
	emu_set_arith_flags(e, f);
}

static void set_cf_zf(struct emu *e, int cf, int zf)
{
	u64 f = emu_arith_flags(e);
	if (cf >= 0)
		f = (f & ~(u64)EMU_CF) | (u64)cf;
	if (zf >= 0)
		f = (f & ~(u64)EMU_ZF) | (zf ? EMU_ZF : 0);
	emu_set_arith_flags(e, f);
}

EMU_G(emu_op_setcc)
{
	u64 la = 0;
	if (in->flags & EMU_I_MEM)
		la = emu_ea(e, in);
	return emu_cont(e, in, emu_wr_rm(e, in, 1, la, 0, emu_cond(e, in->ext), false));
}

/* CMOVcc: the source is read (and may fault) even when the condition is
 * false; a 32-bit destination is zero-extended either way. */
EMU_G(emu_op_cmovcc)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	if (st)
		return st;
	if (!emu_cond(e, in->ext))
		v = emu_rreg(e, in->reg, in->osz);
	emu_wreg(e, in->reg, in->osz, v);
	return emu_next(e, in);
}

/* SETcc of a low byte register, one handler per condition. */
#define SETCC(cc)                                                                            \
	static EMU_H(set##cc)                                                                \
	{                                                                                    \
		u64 *g = &e->cpu.gpr[in->rm8];                                               \
		*g = (*g & ~0xffull) | emu_cond(e, cc);                                      \
		return emu_next(e, in);                                                      \
	}
SETCC(0) SETCC(1) SETCC(2) SETCC(3) SETCC(4) SETCC(5) SETCC(6) SETCC(7)
SETCC(8) SETCC(9) SETCC(10) SETCC(11) SETCC(12) SETCC(13) SETCC(14) SETCC(15)
static const emu_fn set_fast[16] = {set0, set1, set2, set3, set4, set5, set6, set7,
				    set8, set9, set10, set11, set12, set13, set14, set15};

emu_fn emu_setcc_fast(const struct emu_insn *in)
{
	return (in->flags & EMU_I_MEM) || (in->rm8 & 0x10) ? emu_op_setcc : set_fast[in->ext & 15];
}

/* CMOVcc between 32/64-bit registers, one handler per condition and size. */
#define CMOV(cc)                                                                             \
	static EMU_H(cmov##cc##_4)                                                           \
	{                                                                                    \
		u64 *d = &e->cpu.gpr[in->reg];                                               \
		*d = (u32)(emu_cond(e, cc) ? e->cpu.gpr[in->rm] : *d);                       \
		return emu_next(e, in);                                                                    \
	}                                                                                    \
	static EMU_H(cmov##cc##_8)                                                           \
	{                                                                                    \
		if (emu_cond(e, cc))                                                         \
			e->cpu.gpr[in->reg] = e->cpu.gpr[in->rm];                            \
		return emu_next(e, in);                                                                    \
	}
CMOV(0) CMOV(1) CMOV(2) CMOV(3) CMOV(4) CMOV(5) CMOV(6) CMOV(7)
CMOV(8) CMOV(9) CMOV(10) CMOV(11) CMOV(12) CMOV(13) CMOV(14) CMOV(15)
#define CMOV_ROW(cc) {cmov##cc##_4, cmov##cc##_8}
static const emu_fn cmov_fast[16][2] = {
	CMOV_ROW(0), CMOV_ROW(1), CMOV_ROW(2), CMOV_ROW(3), CMOV_ROW(4), CMOV_ROW(5),
	CMOV_ROW(6), CMOV_ROW(7), CMOV_ROW(8), CMOV_ROW(9), CMOV_ROW(10), CMOV_ROW(11),
	CMOV_ROW(12), CMOV_ROW(13), CMOV_ROW(14), CMOV_ROW(15),
};

emu_fn emu_cmov_fast(unsigned cc, unsigned osz) { return cmov_fast[cc & 15][osz == 8]; }

/* BT family on a bit base and an offset. ext: 0 BT, 1 BTS, 2 BTR, 3 BTC.
 * CF = the bit; OF/SF/AF/PF are left unchanged (SDM: undefined). */
static int bt_common(struct emu *e, const struct emu_insn *in, u64 la, u64 a,
		     unsigned bit)
{
	unsigned sz = in->osz;
	u64 m = 1ull << bit, r = a;
	switch (in->ext) {
	case 1: r = a | m; break;
	case 2: r = a & ~m; break;
	case 3: r = a ^ m; break;
	}
	if (in->ext) {
		int st = emu_wr_rm(e, in, sz, la, a, r, in->flags & EMU_I_LOCK);
		if (st)
			return st;
	}
	set_cf_zf(e, (a >> bit) & 1, -1);
	return 0;
}

/* BT Ev,Gv: with a memory base the signed offset selects the operand-sized
 * word at ea + osz * (offset >> log2(bits)) (SDM "BT", bit string). */
EMU_G(emu_op_bt)
{
	unsigned sz = in->osz, bits = sz * 8;
	u64 off = emu_rreg(e, in->reg, sz), a, la;
	if (in->flags & EMU_I_MEM) {
		i64 so = (i64)emu_sx(off, sz);
		la = emu_ea(e, in) + (u64)((so >> (bits == 16 ? 4 : bits == 32 ? 5 : 6)) * (i64)sz);
		if (emu_asz(in) == 4)
			la = (u32)(la - emu_seg(e, in)) + emu_seg(e, in);
		int st = emu_read(e, la, sz, &a, in->flags & EMU_I_SS);
		if (st)
			return st;
	} else {
		a = emu_rreg(e, in->rm, sz);
		la = 0;
	}
	return emu_cont(e, in, bt_common(e, in, la, a, (unsigned)(off & (bits - 1))));
}

EMU_G(emu_op_bt_imm)
{
	u64 a, la;
	int st = emu_rd_rm(e, in, in->osz, &a, &la);
	if (st)
		return st;
	return emu_cont(e, in, bt_common(e, in, la, a, (unsigned)(in->imm & (in->osz * 8 - 1))));
}

/* BSF/BSR: ZF = (source == 0); the destination is left unchanged then
 * (what both Intel and AMD do; the SDM says undefined). */
EMU_G(emu_op_tzcnt_bsf)
{
	unsigned sz = in->osz;
	u64 v, la;
	int st = emu_rd_rm(e, in, sz, &v, &la);
	if (st)
		return st;
	if (in->flags & EMU_I_REP) { /* TZCNT: CF = (src == 0), ZF = (dst == 0) */
		u64 n = v ? (u64)__builtin_ctzll(v) : sz * 8;
		emu_wreg(e, in->reg, sz, n);
		set_cf_zf(e, v == 0, n == 0);
		return emu_next(e, in);
	}
	if (v)
		emu_wreg(e, in->reg, sz, (u64)__builtin_ctzll(v));
	set_cf_zf(e, -1, v == 0);
	return emu_next(e, in);
}

EMU_G(emu_op_lzcnt_bsr)
{
	unsigned sz = in->osz;
	u64 v, la;
	int st = emu_rd_rm(e, in, sz, &v, &la);
	if (st)
		return st;
	unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
	if (in->flags & EMU_I_REP) { /* LZCNT */
		u64 n = v ? sz * 8 - 1 - msb : sz * 8;
		emu_wreg(e, in->reg, sz, n);
		set_cf_zf(e, v == 0, n == 0);
		return emu_next(e, in);
	}
	if (v)
		emu_wreg(e, in->reg, sz, msb);
	set_cf_zf(e, -1, v == 0);
	return emu_next(e, in);
}

static u64 popcount(u64 v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (v * 0x0101010101010101ull) >> 56;
}

/* POPCNT (F3 0F B8): all flags cleared but ZF = (src == 0). No F3: #UD. */
EMU_G(emu_op_popcnt)
{
	u64 v, la;
	if (!(in->flags & EMU_I_REP))
		return emu_raise(e, EMU_EXC_UD, false, 0);
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	if (st)
		return st;
	emu_wreg(e, in->reg, in->osz, popcount(v));
	emu_set_arith_flags(e, v ? 0 : EMU_ZF);
	return emu_next(e, in);
}

/* XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (DEST written last). */
EMU_G(emu_op_xadd)
{
	unsigned sz = in->osz, rg = emu_regreg(in, sz);
	u64 a, la;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st)
		return st;
	u64 b = emu_rreg(e, rg, sz), r = (a + b) & emu_mask(sz);
	if (in->flags & EMU_I_MEM) {
		if ((st = emu_wr_rm(e, in, sz, la, a, r, in->flags & EMU_I_LOCK)))
			return st;
		emu_wreg(e, rg, sz, a);
	} else {
		emu_wreg(e, rg, sz, a);
		emu_wreg(e, emu_rmreg(in, sz), sz, r);
	}
	emu_lf_add(e, a, b, r, sz);
	return emu_next(e, in);
}

/* CMPXCHG: flags of CMP accumulator,DEST. Equal: DEST = SRC. Otherwise the
 * accumulator = DEST and memory is written back with its old value. */
EMU_G(emu_op_cmpxchg)
{
	unsigned sz = in->osz;
	u64 a, la;
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (st)
		return st;
	u64 acc = emu_rreg(e, EMU_RAX, sz);
	bool eq = acc == a;
	u64 nv = eq ? emu_rreg(e, emu_regreg(in, sz), sz) : a;
	if (((in->flags & EMU_I_MEM) || eq) &&
	    (st = emu_wr_rm(e, in, sz, la, a, nv, in->flags & EMU_I_LOCK)))
		return st;
	emu_lf_sub(e, acc, a, (acc - a) & emu_mask(sz), sz);
	if (!eq)
		emu_wreg(e, EMU_RAX, sz, a);
	return emu_next(e, in);
}

/* CMPXCHG8B/16B (0F C7 /1): only ZF changes; 16B needs 16-byte alignment. */
EMU_G(emu_op_cmpxchg8b)
{
	unsigned h = (in->flags & EMU_I_REXW) ? 8 : 4;
	u64 la = emu_ea(e, in), lo, hi;
	bool ss = in->flags & EMU_I_SS;
	if (h == 8 && (la & 15))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	int st = emu_read(e, la, h, &lo, ss);
	if (!st)
		st = emu_read(e, la + h, h, &hi, ss);
	if (st)
		return st;
	bool eq = lo == emu_rreg(e, EMU_RAX, h) && hi == emu_rreg(e, EMU_RDX, h);
	u64 nlo = eq ? emu_rreg(e, EMU_RBX, h) : lo, nhi = eq ? emu_rreg(e, EMU_RCX, h) : hi;
	if (h == 4) {
		st = emu_wr_rm(e, in, 8, la, lo | hi << 32, nlo | nhi << 32,
			       in->flags & EMU_I_LOCK);
	} else {
		st = emu_write(e, la, 8, nlo, ss);
		if (!st)
			st = emu_write(e, la + 8, 8, nhi, ss);
	}
	if (st)
		return st;
	if (!eq) {
		emu_wreg(e, EMU_RAX, h, lo);
		emu_wreg(e, EMU_RDX, h, hi);
	}
	set_cf_zf(e, -1, eq);
	return emu_next(e, in);
}

/* BSWAP: 16-bit operand size is undefined in the SDM; we clear the word. */
EMU_G(emu_op_bswap)
{
	u64 v = e->cpu.gpr[in->reg];
	if (in->osz == 8)
		e->cpu.gpr[in->reg] = __builtin_bswap64(v);
	else if (in->osz == 4)
		e->cpu.gpr[in->reg] = __builtin_bswap32((u32)v);
	else
		emu_wreg(e, in->reg, 2, 0);
	return emu_next(e, in);
}

/* CBW/CWDE/CDQE: sign-extend the lower half of rAX into rAX. */
EMU_G(emu_op_cbw)
{
	unsigned h = in->osz / 2;
	emu_wreg(e, EMU_RAX, in->osz, emu_sx(emu_rreg(e, EMU_RAX, h), h));
	return emu_next(e, in);
}

/* CWD/CDQ/CQO: rDX = sign of rAX. */
EMU_G(emu_op_cwd)
{
	unsigned sz = in->osz;
	u64 s = emu_sx(emu_rreg(e, EMU_RAX, sz), sz) >> 63;
	emu_wreg(e, EMU_RDX, sz, s ? ~0ull : 0);
	return emu_next(e, in);
}

/* CMC, CLC, STC, CLD, STD (ext 0..4). */
EMU_G(emu_op_flagop)
{
	switch (in->ext) {
	case 0: emu_set_arith_flags(e, emu_arith_flags(e) ^ EMU_CF); break;
	case 1: emu_set_arith_flags(e, emu_arith_flags(e) & ~(u64)EMU_CF); break;
	case 2: emu_set_arith_flags(e, emu_arith_flags(e) | EMU_CF); break;
	case 3: e->cpu.rflags_sys &= ~(u64)EMU_DF; break;
	default: e->cpu.rflags_sys |= EMU_DF; break;
	}
	return emu_next(e, in);
}

/* LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. */
EMU_G(emu_op_lahf)
{
	emu_wreg(e, 0x10, 1, (emu_arith_flags(e) & 0xd5) | 2);
	(void)in;
	return emu_next(e, in);
}

/* SAHF: SF, ZF, AF, PF, CF from AH; OF kept. */
EMU_G(emu_op_sahf)
{
	u64 f = emu_arith_flags(e) & EMU_OF;
	emu_set_arith_flags(e, f | (emu_rreg(e, 0x10, 1) & 0xd5));
	(void)in;
	return emu_next(e, in);
}
