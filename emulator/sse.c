/* sse.c - SSE to SSE4.2 integer instructions and data movement on XMM0-15
 * (SDM instruction pages of the same names), LDMXCSR/STMXCSR, and the x87
 * control instructions (FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FWAIT).
 * Floating-point arithmetic, compares and conversions are not here: decode.c
 * hands them to the hypervisor (EMU_X_SIMD_FP), so nothing in this file uses
 * the host's FPU or SSE. A fault leaves XMM, MXCSR and memory as they were. */
#include "emu_internal.h"

typedef union emu_xmm xmm_t;

/* #UD/#NM for this run (run.c), then the operand's alignment (SDM "Exceptions Type 4"). */
static int sse_fault(struct emu *e)
{
	return e->fpu_fault ? emu_raise(e, e->fpu_fault, false, 0) : 0;
}

/* The E operand: XMM register rm, or n bytes (16, 8, 4, 2, 1) of memory,
 * zero-extended; 16-byte operands of EMU_I_ALIGN forms must be aligned. */
static int src(struct emu *e, const struct emu_insn *in, unsigned n, xmm_t *s, u64 *la)
{
	int st = sse_fault(e);
	if (st)
		return st;
	if (!(in->flags & EMU_I_MEM)) {
		*s = e->cpu.xmm[in->rm & 15];
		return 0;
	}
	*la = emu_ea(e, in);
	if ((in->flags & EMU_I_ALIGN) && (*la & 15))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	s->q[0] = s->q[1] = 0;
	return emu_read_n(e, *la, s, n, in->flags & EMU_I_SS);
}

static u8 sat8s(i32 v) { return (u8)(v > 127 ? 127 : v < -128 ? -128 : v); }
static u8 sat8u(i32 v) { return (u8)(v > 255 ? 255 : v < 0 ? 0 : v); }
static u16 sat16s(i32 v) { return (u16)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static u16 sat16u(i32 v) { return (u16)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

/* Lane loops: r.F[i] = expr for each of the n lanes, a/b the lanes of d/s. */
#define LANE(F, T, n, expr)                                  \
	for (unsigned i = 0; i < n; i++) {                   \
		T a = (T)d.F[i], b = (T)s.F[i];              \
		(void)a, (void)b;                            \
		r.F[i] = expr;                               \
	}                                                    \
	break

/* Shifts by a count of 64 bits (PSRLW..PSLLQ): past the width zero, or all
 * sign bits for arithmetic shifts. */
static void shift(xmm_t *r, const xmm_t *d, u64 cnt, unsigned w, int kind)
{
	for (unsigned i = 0; i < 16 / w; i++) {
		u64 v = w == 2 ? d->w[i] : w == 4 ? d->d[i] : d->q[i];
		unsigned bits = w * 8;
		if (kind == 2) /* arithmetic right */
			v = (u64)((i64)(v << (64 - bits)) >> (64 - bits + (cnt >= bits ? bits - 1 : cnt)));
		else if (cnt >= bits)
			v = 0;
		else
			v = kind ? v << cnt : v >> cnt;
		if (w == 2)
			r->w[i] = (u16)v;
		else if (w == 4)
			r->d[i] = (u32)v;
		else
			r->q[i] = v;
	}
}

static void unpack(xmm_t *r, const xmm_t *d, const xmm_t *s, unsigned w, unsigned hi)
{
	u8 t[16];
	for (unsigned i = 0; i < 16 / (2 * w); i++) {
		__builtin_memcpy(t + 2 * i * w, d->b + hi * 8 + i * w, w);
		__builtin_memcpy(t + (2 * i + 1) * w, s->b + hi * 8 + i * w, w);
	}
	__builtin_memcpy(r, t, 16);
}

/* Horizontal add/sub of adjacent lanes (PHADD*, PHSUB*): d's pairs, then s's. */
static void hadd(xmm_t *r, const xmm_t *d, const xmm_t *s, unsigned w, int sub, int sat)
{
	xmm_t t;
	unsigned n = 16 / w;
	for (unsigned i = 0; i < n; i++) {
		const xmm_t *x = i < n / 2 ? d : s;
		unsigned j = 2 * (i % (n / 2));
		if (w == 2) {
			i32 v = sub ? (i16)x->w[j] - (i16)x->w[j + 1] : (i16)x->w[j] + (i16)x->w[j + 1];
			t.w[i] = sat ? sat16s(v) : (u16)v;
		} else {
			t.d[i] = sub ? x->d[j] - x->d[j + 1] : x->d[j] + x->d[j + 1];
		}
	}
	*r = t;
}

/* PMOVSX/PMOVZX: lanes of w bytes from the low part of s widened to v bytes. */
static void widen(xmm_t *r, const xmm_t *s, unsigned w, unsigned v, bool sx)
{
	xmm_t t = {0};
	for (unsigned i = 0; i < 16 / v; i++) {
		u64 x = 0;
		__builtin_memcpy(&x, s->b + i * w, w);
		if (sx)
			x = emu_sx(x, w);
		__builtin_memcpy(t.b + i * v, &x, v);
	}
	*r = t;
}

/* MPSADBW: eight sums of absolute differences of 4-byte blocks. */
static void mpsadbw(xmm_t *r, const xmm_t *d, const xmm_t *s, unsigned imm)
{
	unsigned a = (imm & 4) ? 4 : 0, b = (imm & 3) * 4;
	xmm_t t;
	for (unsigned i = 0; i < 8; i++) {
		unsigned sum = 0;
		for (unsigned k = 0; k < 4; k++) {
			int x = d->b[a + i + k] - s->b[b + k];
			sum += (unsigned)(x < 0 ? -x : x);
		}
		t.w[i] = (u16)sum;
	}
	*r = t;
}

/* d op s (imm8 where the form has one) for the xmm <- xmm/m forms. */
static void alu(struct emu *e, const struct emu_insn *in, xmm_t *dp, const xmm_t *sp)
{
	xmm_t d = *dp, s = *sp, r = d, t;
	unsigned imm = (unsigned)in->imm & 0xff, k;
	u64 x;
	switch (in->op) {
	case SO_PADDB: LANE(b, u8, 16, (u8)(a + b));
	case SO_PADDW: LANE(w, u16, 8, (u16)(a + b));
	case SO_PADDD: LANE(d, u32, 4, a + b);
	case SO_PADDQ: LANE(q, u64, 2, a + b);
	case SO_PSUBB: LANE(b, u8, 16, (u8)(a - b));
	case SO_PSUBW: LANE(w, u16, 8, (u16)(a - b));
	case SO_PSUBD: LANE(d, u32, 4, a - b);
	case SO_PSUBQ: LANE(q, u64, 2, a - b);
	case SO_PADDSB: LANE(b, i8, 16, sat8s(a + b));
	case SO_PADDSW: LANE(w, i16, 8, sat16s(a + b));
	case SO_PADDUSB: LANE(b, u8, 16, sat8u(a + b));
	case SO_PADDUSW: LANE(w, u16, 8, sat16u(a + b));
	case SO_PSUBSB: LANE(b, i8, 16, sat8s(a - b));
	case SO_PSUBSW: LANE(w, i16, 8, sat16s(a - b));
	case SO_PSUBUSB: LANE(b, u8, 16, sat8u(a - b));
	case SO_PSUBUSW: LANE(w, u16, 8, sat16u(a - b));
	case SO_PAND: LANE(q, u64, 2, a & b);
	case SO_PANDN: LANE(q, u64, 2, ~a & b);
	case SO_POR: LANE(q, u64, 2, a | b);
	case SO_PXOR: LANE(q, u64, 2, a ^ b);
	case SO_PCMPEQB: LANE(b, u8, 16, a == b ? 0xff : 0);
	case SO_PCMPEQW: LANE(w, u16, 8, a == b ? 0xffff : 0);
	case SO_PCMPEQD: LANE(d, u32, 4, a == b ? ~0u : 0);
	case SO_PCMPEQQ: LANE(q, u64, 2, a == b ? ~0ull : 0);
	case SO_PCMPGTB: LANE(b, i8, 16, a > b ? 0xff : 0);
	case SO_PCMPGTW: LANE(w, i16, 8, a > b ? 0xffff : 0);
	case SO_PCMPGTD: LANE(d, i32, 4, a > b ? ~0u : 0);
	case SO_PCMPGTQ: LANE(q, i64, 2, a > b ? ~0ull : 0);
	case SO_PMINUB: LANE(b, u8, 16, a < b ? a : b);
	case SO_PMAXUB: LANE(b, u8, 16, a > b ? a : b);
	case SO_PMINSW: LANE(w, i16, 8, (u16)(a < b ? a : b));
	case SO_PMAXSW: LANE(w, i16, 8, (u16)(a > b ? a : b));
	case SO_PMINSB: LANE(b, i8, 16, (u8)(a < b ? a : b));
	case SO_PMAXSB: LANE(b, i8, 16, (u8)(a > b ? a : b));
	case SO_PMINUW: LANE(w, u16, 8, a < b ? a : b);
	case SO_PMAXUW: LANE(w, u16, 8, a > b ? a : b);
	case SO_PMINSD: LANE(d, i32, 4, (u32)(a < b ? a : b));
	case SO_PMAXSD: LANE(d, i32, 4, (u32)(a > b ? a : b));
	case SO_PMINUD: LANE(d, u32, 4, a < b ? a : b);
	case SO_PMAXUD: LANE(d, u32, 4, a > b ? a : b);
	case SO_PAVGB: LANE(b, u32, 16, (u8)((a + b + 1) >> 1));
	case SO_PAVGW: LANE(w, u32, 8, (u16)((a + b + 1) >> 1));
	case SO_PMULLW: LANE(w, u32, 8, (u16)(a * b));
	case SO_PMULHW: LANE(w, i16, 8, (u16)((i32)a * b >> 16));
	case SO_PMULHUW: LANE(w, u32, 8, (u16)((a * b) >> 16));
	case SO_PMULLD: LANE(d, u32, 4, a * b);
	case SO_PMULHRSW: LANE(w, i16, 8, (u16)((((i32)a * b >> 14) + 1) >> 1));
	case SO_PABSB: LANE(b, i8, 16, (u8)(b < 0 ? -b : b));
	case SO_PABSW: LANE(w, i16, 8, (u16)(b < 0 ? -b : b));
	case SO_PABSD: LANE(d, i32, 4, (u32)(b < 0 ? -(i64)b : b));
	case SO_PSIGNB: LANE(b, i8, 16, (u8)(b < 0 ? -a : b ? a : 0));
	case SO_PSIGNW: LANE(w, i16, 8, (u16)(b < 0 ? -a : b ? a : 0));
	case SO_PSIGND: LANE(d, i32, 4, (u32)(b < 0 ? -(i64)a : b ? a : 0));
	case SO_PMULUDQ: LANE(q, u64, 2, (u32)a * (u64)(u32)b);
	case SO_PMULDQ: LANE(q, u64, 2, (u64)((i64)(i32)a * (i32)b));
	case SO_PMADDWD:
		for (unsigned i = 0; i < 4; i++)
			r.d[i] = (u32)((i32)(i16)d.w[2 * i] * (i16)s.w[2 * i] + (i32)(i16)d.w[2 * i + 1] * (i16)s.w[2 * i + 1]);
		break;
	case SO_PMADDUBSW:
		for (unsigned i = 0; i < 8; i++)
			r.w[i] = sat16s(d.b[2 * i] * (i8)s.b[2 * i] + d.b[2 * i + 1] * (i8)s.b[2 * i + 1]);
		break;
	case SO_PSADBW:
		for (unsigned h = 0; h < 2; h++) {
			unsigned sum = 0;
			for (unsigned i = 0; i < 8; i++)
				sum += (unsigned)(d.b[8 * h + i] > s.b[8 * h + i] ? d.b[8 * h + i] - s.b[8 * h + i]
										   : s.b[8 * h + i] - d.b[8 * h + i]);
			r.q[h] = sum;
		}
		break;
	case SO_PHADDW: hadd(&r, &d, &s, 2, 0, 0); break;
	case SO_PHADDD: hadd(&r, &d, &s, 4, 0, 0); break;
	case SO_PHADDSW: hadd(&r, &d, &s, 2, 0, 1); break;
	case SO_PHSUBW: hadd(&r, &d, &s, 2, 1, 0); break;
	case SO_PHSUBD: hadd(&r, &d, &s, 4, 1, 0); break;
	case SO_PHSUBSW: hadd(&r, &d, &s, 2, 1, 1); break;
	case SO_PSHUFB: LANE(b, u8, 16, (b & 0x80) ? 0 : d.b[b & 15]);
	case SO_PUNPCKLBW: case SO_PUNPCKLWD: case SO_PUNPCKLDQ: case SO_PUNPCKLQDQ:
		unpack(&r, &d, &s, 1u << (in->op - SO_PUNPCKLBW), 0);
		break;
	case SO_PUNPCKHBW: case SO_PUNPCKHWD: case SO_PUNPCKHDQ: case SO_PUNPCKHQDQ:
		unpack(&r, &d, &s, 1u << (in->op - SO_PUNPCKHBW), 1);
		break;
	case SO_PACKSSWB: for (k = 0; k < 16; k++) r.b[k] = sat8s((i16)(k < 8 ? d : s).w[k & 7]); break;
	case SO_PACKUSWB: for (k = 0; k < 16; k++) r.b[k] = sat8u((i16)(k < 8 ? d : s).w[k & 7]); break;
	case SO_PACKSSDW: for (k = 0; k < 8; k++) r.w[k] = sat16s((i32)(k < 4 ? d : s).d[k & 3]); break;
	case SO_PACKUSDW:
		for (k = 0; k < 8; k++) {
			i32 v = (i32)(k < 4 ? d : s).d[k & 3];
			r.w[k] = (u16)(v > 65535 ? 65535 : v < 0 ? 0 : v);
		}
		break;
	case SO_PSRLW: case SO_PSRLD: case SO_PSRLQ: shift(&r, &d, s.q[0], 2u << (in->op - SO_PSRLW), 0); break;
	case SO_PSLLW: case SO_PSLLD: case SO_PSLLQ: shift(&r, &d, s.q[0], 2u << (in->op - SO_PSLLW), 1); break;
	case SO_PSRAW: case SO_PSRAD: shift(&r, &d, s.q[0], 2u << (in->op - SO_PSRAW), 2); break;
	case SO_PSRLDQ: case SO_PSLLDQ:
		__builtin_memset(&r, 0, 16);
		k = s.q[0] > 16 ? 16 : (unsigned)s.q[0];
		if (in->op == SO_PSRLDQ)
			__builtin_memcpy(r.b, d.b + k, 16 - k);
		else
			__builtin_memcpy(r.b + k, d.b, 16 - k);
		break;
	case SO_PSHUFD: LANE(d, u32, 4, s.d[(imm >> (2 * i)) & 3]);
	case SO_PSHUFLW: r = s; LANE(w, u16, 4, s.w[(imm >> (2 * i)) & 3]);
	case SO_PSHUFHW: r = s; for (k = 0; k < 4; k++) r.w[4 + k] = s.w[4 + ((imm >> (2 * k)) & 3)]; break;
	case SO_SHUFPS: LANE(d, u32, 4, (i < 2 ? d : s).d[(imm >> (2 * i)) & 3]);
	case SO_SHUFPD: r.q[0] = d.q[imm & 1], r.q[1] = s.q[(imm >> 1) & 1]; break;
	case SO_PALIGNR:
		for (k = 0; k < 16; k++)
			r.b[k] = imm + k < 16 ? s.b[imm + k] : imm + k < 32 ? d.b[imm + k - 16] : 0;
		break;
	case SO_PBLENDW: LANE(w, u16, 8, (imm >> i) & 1 ? b : a);
	case SO_BLENDPS: LANE(d, u32, 4, (imm >> i) & 1 ? b : a);
	case SO_BLENDPD: LANE(q, u64, 2, (imm >> i) & 1 ? b : a);
	case SO_PBLENDVB: LANE(b, u8, 16, e->cpu.xmm[0].b[i] & 0x80 ? b : a);
	case SO_BLENDVPS: LANE(d, u32, 4, e->cpu.xmm[0].d[i] >> 31 ? b : a);
	case SO_BLENDVPD: LANE(q, u64, 2, e->cpu.xmm[0].q[i] >> 63 ? b : a);
	case SO_PMOVSXBW: case SO_PMOVSXBD: case SO_PMOVSXBQ: case SO_PMOVSXWD: case SO_PMOVSXWQ: case SO_PMOVSXDQ:
	case SO_PMOVZXBW: case SO_PMOVZXBD: case SO_PMOVZXBQ: case SO_PMOVZXWD: case SO_PMOVZXWQ: case SO_PMOVZXDQ:
		k = (in->op - SO_PMOVSXBW) % 6; /* BW BD BQ WD WQ DQ */
		widen(&r, &s, k < 3 ? 1 : k < 5 ? 2 : 4, k == 0 ? 2 : k == 1 || k == 3 ? 4 : 8, in->op < SO_PMOVZXBW);
		break;
	case SO_PHMINPOSUW:
		for (k = 1, x = 0; k < 8; k++)
			if (s.w[k] < s.w[x])
				x = k;
		r.q[1] = 0, r.q[0] = s.w[x] | (x << 16);
		break;
	case SO_MPSADBW: mpsadbw(&r, &d, &s, imm); break;
	case SO_INSERTPS:
		r.d[(imm >> 4) & 3] = (in->flags & EMU_I_MEM) ? s.d[0] : s.d[imm >> 6];
		LANE(d, u32, 4, (imm >> i) & 1 ? 0 : r.d[i]);
	case SO_PTEST:
		t.q[0] = d.q[0] & s.q[0], t.q[1] = d.q[1] & s.q[1];
		x = (t.q[0] | t.q[1]) ? 0 : EMU_ZF;
		if (!((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1])))
			x |= EMU_CF;
		emu_set_arith_flags(e, x);
		return;
	case SO_MOV: r = s; break;
	case SO_MOVSS: if (in->flags & EMU_I_MEM) r = s; else r.d[0] = s.d[0]; break;
	case SO_MOVSD: if (in->flags & EMU_I_MEM) r = s; else r.q[0] = s.q[0]; break;
	case SO_MOVQZ: r.q[0] = s.q[0], r.q[1] = 0; break;
	case SO_MOV12: r.q[0] = (in->flags & EMU_I_MEM) ? s.q[0] : s.q[1]; break; /* MOVLPS / MOVHLPS */
	case SO_MOVHI: r.q[1] = s.q[0]; break; /* MOVHPS, MOVLHPS */
	case SO_MOVDDUP: r.q[0] = r.q[1] = s.q[0]; break;
	case SO_MOVSLDUP: LANE(d, u32, 4, s.d[i & ~1u]);
	case SO_MOVSHDUP: LANE(d, u32, 4, s.d[i | 1]);
	}
	*dp = r;
}

/* xmm[reg] = xmm[reg] op xmm[rm]/m (in->imm2: memory operand bytes). */
EMU_G(emu_op_sse)
{
	xmm_t s;
	u64 la;
	int st = src(e, in, in->imm2, &s, &la);
	if (st)
		return st;
	alu(e, in, &e->cpu.xmm[in->reg & 15], &s);
	return emu_next(e, in);
}

/* Shifts by an immediate (66 0F 71-73 /2 /3 /4 /6 /7): the register is rm. */
EMU_G(emu_op_sse_shi)
{
	int st = sse_fault(e);
	if (st)
		return st;
	xmm_t s = {.q = {in->imm & 0xff, 0}};
	alu(e, in, &e->cpu.xmm[in->rm & 15], &s);
	return emu_next(e, in);
}

/* Stores of xmm[reg] (in->op: how many bytes, which part) to memory or to
 * xmm[rm] (register forms: MOVAPS/MOVSS/MOVSD/MOVQ merge or zero as the
 * SDM says). */
EMU_G(emu_op_sse_st)
{
	const xmm_t *x = &e->cpu.xmm[in->reg & 15];
	int st = sse_fault(e);
	if (st)
		return st;
	if (!(in->flags & EMU_I_MEM)) {
		xmm_t *d = &e->cpu.xmm[in->rm & 15];
		switch (in->op) {
		case SO_ST_SS: d->d[0] = x->d[0]; break;
		case SO_ST_SD: d->q[0] = x->q[0]; break;
		case SO_ST_Q: d->q[0] = x->q[0], d->q[1] = 0; break;
		default: *d = *x; break;
		}
		return emu_next(e, in);
	}
	u64 la = emu_ea(e, in);
	if ((in->flags & EMU_I_ALIGN) && (la & 15))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	const void *p = in->op == SO_ST_HI ? (const void *)&x->q[1] : (const void *)x;
	unsigned n = in->op == SO_ST_SS ? 4 : in->op == SO_ST_16 ? 16 : 8;
	return emu_cont(e, in, emu_write_n(e, la, p, n, in->flags & EMU_I_SS));
}

/* MOVD/MOVQ xmm, r/m32/64 (66 0F 6E): zero-extended. */
EMU_G(emu_op_movd_x)
{
	u64 v, la;
	int st = sse_fault(e);
	if (!st)
		st = emu_rd_rm(e, in, in->osz, &v, &la);
	if (st)
		return st;
	e->cpu.xmm[in->reg & 15] = (xmm_t){.q = {v, 0}};
	return emu_next(e, in);
}

/* MOVD/MOVQ r/m32/64, xmm (66 0F 7E) and MOVNTI r (0F C3: the GPR is the source). */
EMU_G(emu_op_movd_r)
{
	int st = sse_fault(e);
	if (st)
		return st;
	u64 la = (in->flags & EMU_I_MEM) ? emu_ea(e, in) : 0;
	return emu_cont(e, in, emu_wr_rm(e, in, in->osz, la, 0, e->cpu.xmm[in->reg & 15].q[0], false));
}

/* Lane of size n at index i of x. */
static inline u64 lane(const xmm_t *x, unsigned n, unsigned i)
{
	switch (n) {
	case 1: return x->b[i & 15];
	case 2: return x->w[i & 7];
	case 4: return x->d[i & 3];
	default: return x->q[i & 1];
	}
}

/* PEXTRB/W/D/Q, EXTRACTPS (66 0F 3A 14-17: xmm = reg, r/m = destination;
 * in->imm2 = lane bytes) and PEXTRW r32, xmm (66 0F C5: xmm = rm). A register
 * destination gets the lane zero-extended. */
EMU_G(emu_op_pextr)
{
	int st = sse_fault(e);
	if (st)
		return st;
	unsigned n = in->imm2, i = (unsigned)in->imm & (16 / n - 1);
	if (in->op) { /* C5 */
		emu_wreg(e, in->reg, 8, lane(&e->cpu.xmm[in->rm & 15], 2, i));
		return emu_next(e, in);
	}
	u64 v = lane(&e->cpu.xmm[in->reg & 15], n, i);
	if (!(in->flags & EMU_I_MEM)) {
		emu_wreg(e, in->rm, n == 8 ? 8 : 4, v);
		return emu_next(e, in);
	}
	return emu_cont(e, in, emu_write(e, emu_ea(e, in), n, v, in->flags & EMU_I_SS));
}

/* PINSRB/W/D/Q (66 0F 3A 20/22, 66 0F C4): lane imm of xmm[reg] from r/m
 * (a register's low bytes: never AH..BH). */
EMU_G(emu_op_pinsr)
{
	unsigned n = in->imm2, i = (unsigned)in->imm & (16 / n - 1);
	u64 v = e->cpu.gpr[in->rm & 15];
	int st = sse_fault(e);
	if (!st && (in->flags & EMU_I_MEM))
		st = emu_read(e, emu_ea(e, in), n, &v, in->flags & EMU_I_SS);
	if (st)
		return st;
	__builtin_memcpy(e->cpu.xmm[in->reg & 15].b + i * n, &v, n);
	return emu_next(e, in);
}

/* PMOVMSKB r, xmm (66 0F D7); MOVMSKPS/PD r, xmm (0F 50, in->imm2 = 4/8):
 * the top bit of each lane. */
EMU_G(emu_op_movmsk)
{
	int st = sse_fault(e);
	if (st)
		return st;
	const xmm_t *x = &e->cpu.xmm[in->rm & 15];
	unsigned n = in->imm2, m = 0;
	for (unsigned i = 0; i < 16 / n; i++)
		m |= (unsigned)((lane(x, n, i) >> (8 * n - 1)) & 1) << i;
	e->cpu.gpr[in->reg & 15] = m;
	return emu_next(e, in);
}

/* MASKMOVDQU xmm1, xmm2 (66 0F F7): the bytes of xmm1 whose mask byte in
 * xmm2 has its top bit set go to DS:rDI (read, merged, written back). */
EMU_G(emu_op_maskmov)
{
	int st = sse_fault(e);
	if (st)
		return st;
	const xmm_t *v = &e->cpu.xmm[in->reg & 15], *m = &e->cpu.xmm[in->rm & 15];
	u64 la = (e->cpu.gpr[EMU_RDI] & emu_mask(emu_asz(in))) + emu_seg(e, in);
	xmm_t t;
	if (!((m->q[0] | m->q[1]) & 0x8080808080808080ull))
		return emu_next(e, in);
	if ((st = emu_read_n(e, la, &t, 16, false)))
		return st;
	for (unsigned i = 0; i < 16; i++)
		if (m->b[i] & 0x80)
			t.b[i] = v->b[i];
	return emu_cont(e, in, emu_write_n(e, la, &t, 16, false));
}

/* LDMXCSR/STMXCSR m32 (0F AE /2 /3): #GP(0) for bits outside MXCSR_MASK. */
EMU_G(emu_op_mxcsr)
{
	u64 la = emu_ea(e, in), v;
	int st = sse_fault(e);
	if (st)
		return st;
	if (in->op)
		return emu_cont(e, in, emu_write(e, la, 4, e->cpu.mxcsr, in->flags & EMU_I_SS));
	if ((st = emu_read(e, la, 4, &v, in->flags & EMU_I_SS)))
		return st;
	if (v & ~(u64)e->cpu.mxcsr_mask)
		return emu_raise(e, EMU_EXC_GP, true, 0);
	e->cpu.mxcsr = (u32)v;
	return emu_next(e, in);
}

/* ---- x87 control (SDM "FINIT/FNINIT", "FLDCW", "FSTCW/FNSTCW", "FSTSW/FNSTSW",
 * "WAIT/FWAIT"): #NM with CR0.EM or CR0.TS (FWAIT: TS with MP); the exception
 * summary ES and busy B follow the unmasked pending exceptions. ---- */
static void fsw_summary(struct emu_cpu *c)
{
	c->fsw &= 0x7f7f;
	if (c->fsw & ~c->fcw & 0x3f)
		c->fsw |= 0x8080;
}

EMU_G(emu_op_x87)
{
	struct emu_cpu *c = &e->cpu;
	u64 v;
	int st = 0;
	if (in->op == SO_FWAIT ? (c->cr0 & (EMU_CR0_TS | EMU_CR0_MP)) == (EMU_CR0_TS | EMU_CR0_MP)
			       : (c->cr0 & (EMU_CR0_TS | EMU_CR0_EM)))
		return emu_raise(e, EMU_EXC_NM, false, 0);
	switch (in->op) {
	case SO_FWAIT:
		if (c->fsw & 0x80)
			return emu_raise(e, EMU_EXC_MF, false, 0);
		break;
	case SO_FNINIT:
		c->fcw = 0x37f, c->fsw = 0, c->ftw = 0, c->fop = 0, c->fip = c->fdp = 0;
		break;
	case SO_FNCLEX: c->fsw &= 0x7f00; break;
	case SO_FNSTSW_AX: emu_wreg(e, EMU_RAX, 2, c->fsw); break;
	case SO_FLDCW:
		if ((st = emu_read(e, emu_ea(e, in), 2, &v, in->flags & EMU_I_SS)))
			return st;
		c->fcw = (u16)v;
		fsw_summary(c);
		break;
	default: /* FNSTCW, FNSTSW m16 */
		st = emu_write(e, emu_ea(e, in), 2, in->op == SO_FNSTCW ? c->fcw : c->fsw, in->flags & EMU_I_SS);
		break;
	}
	return emu_cont(e, in, st);
}
