/* ext.c - general-purpose extensions (SDM instruction pages of the same
 * names): BMI1 and BMI2 (VEX-encoded: ANDN, BEXTR, BLSI, BLSMSK, BLSR, BZHI,
 * MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX), ADCX/ADOX, MOVBE, CRC32,
 * RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE, and CLFLUSH/CLFLUSHOPT/CLWB, which
 * only check the access (nothing is cached here). */
#include "emu_internal.h"

/* VEX BMI ops (decode.c): ext = which, op = VEX.vvvv, osz = 4 or 8. */
enum { BX_ANDN, BX_BLSR, BX_BLSMSK, BX_BLSI, BX_BEXTR, BX_BZHI, BX_PEXT, BX_PDEP, BX_MULX, BX_SHLX, BX_SARX,
       BX_SHRX, BX_RORX };

static u64 pdep(u64 src, u64 mask)
{
	u64 r = 0;
	for (u64 bit = 1; mask; bit <<= 1, mask &= mask - 1)
		if (src & bit)
			r |= mask & -mask;
	return r;
}

static u64 pext(u64 src, u64 mask)
{
	u64 r = 0;
	for (u64 bit = 1; mask; bit <<= 1, mask &= mask - 1)
		if (src & mask & -mask)
			r |= bit;
	return r;
}

/* Flags: ANDN, BEXTR: SF ZF from the result, CF = OF = 0; BLS*: CF as the
 * SDM says; BZHI: CF = index past the operand; the shifts, PDEP, PEXT, MULX,
 * RORX leave them alone. AF and PF are undefined (PF from the result here). */
EMU_G(emu_op_bmi)
{
	unsigned sz = in->osz, bits = sz * 8, cf = 0, dst = in->reg;
	u64 m = emu_mask(sz), src, la, v = emu_rreg(e, in->op, sz), r;
	int st = emu_rd_rm(e, in, sz, &src, &la);
	if (st)
		return st;
	switch (in->ext) {
	case BX_ANDN: r = ~v & src & m; break;
	case BX_BLSR: r = src & (src - 1) & m, cf = src == 0, dst = in->op; break;
	case BX_BLSMSK: r = (src ^ (src - 1)) & m, cf = src == 0, dst = in->op; break;
	case BX_BLSI: r = src & (0 - src) & m, cf = src != 0, dst = in->op; break;
	case BX_BEXTR: {
		unsigned start = v & 0xff, len = (v >> 8) & 0xff;
		r = start < bits ? src >> start : 0;
		r &= len < bits ? (1ull << len) - 1 : m;
		break;
	}
	case BX_BZHI: {
		unsigned n = v & 0xff;
		r = n < bits ? src & ((1ull << n) - 1) : src;
		cf = n > bits - 1;
		break;
	}
	case BX_PEXT: emu_wreg(e, dst, sz, pext(v, src)); return emu_next(e, in);
	case BX_PDEP: emu_wreg(e, dst, sz, pdep(v, src)); return emu_next(e, in);
	case BX_MULX: {
		u64 a = emu_rreg(e, EMU_RDX, sz), lo, hi;
		if (sz == 8) {
			unsigned __int128 p = (unsigned __int128)a * src;
			lo = (u64)p, hi = (u64)(p >> 64);
		} else {
			lo = (a * src) & m, hi = (a * src) >> 32;
		}
		emu_wreg(e, in->op, sz, lo);
		emu_wreg(e, dst, sz, hi); /* the same register: it gets the high half */
		return emu_next(e, in);
	}
	case BX_RORX: {
		unsigned n = (unsigned)in->imm & (bits - 1);
		emu_wreg(e, dst, sz, n ? ((src >> n) | (src << (bits - n))) & m : src);
		return emu_next(e, in);
	}
	default: { /* SHLX SARX SHRX */
		unsigned n = (unsigned)v & (bits - 1);
		r = in->ext == BX_SHLX ? src << n : in->ext == BX_SHRX ? src >> n : (u64)((i64)emu_sx(src, sz) >> n);
		emu_wreg(e, dst, sz, r & m);
		return emu_next(e, in);
	}
	}
	emu_wreg(e, dst, sz, r);
	emu_lf_res(e, r, sz, cf, 0, 0);
	return emu_next(e, in);
}

/* ADCX (ext 0): r += r/m + CF, only CF changes; ADOX (1): with OF instead. */
EMU_G(emu_op_adx)
{
	unsigned sz = in->osz;
	u64 src, la, f = emu_arith_flags(e), c = in->op ? EMU_OF : EMU_CF;
	int st = emu_rd_rm(e, in, sz, &src, &la);
	if (st)
		return st;
	u64 a = emu_rreg(e, in->reg, sz), cin = (f & c) != 0, r = (a + src + cin) & emu_mask(sz);
	bool cout = sz == 8 ? (r < a || (cin && r == a)) : ((a + src + cin) >> 32) != 0;
	emu_wreg(e, in->reg, sz, r);
	emu_set_arith_flags(e, cout ? f | c : f & ~c);
	return emu_next(e, in);
}

/* MOVBE (0F 38 F0: r <- m, F1: m <- r; op 1 = store): byte-swapped move. */
EMU_G(emu_op_movbe)
{
	unsigned sz = in->osz;
	u64 la = emu_ea(e, in), v;
	if (in->op) {
		v = emu_rreg(e, in->reg, sz);
		v = sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((u32)v) : __builtin_bswap16((u16)v);
		return emu_cont(e, in, emu_write(e, la, sz, v, in->flags & EMU_I_SS));
	}
	int st = emu_read(e, la, sz, &v, in->flags & EMU_I_SS);
	if (st)
		return st;
	v = sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((u32)v) : __builtin_bswap16((u16)v);
	emu_wreg(e, in->reg, sz, v);
	return emu_next(e, in);
}

/* CRC32 r32/64, r/m8 (op 1) or r/m16/32/64: CRC-32C (polynomial 11EDC6F41H,
 * bit-reflected, no inversion: SDM "CRC32"). The result is 32 bits,
 * zero-extended to 64 with REX.W. */
EMU_G(emu_op_crc32)
{
	unsigned n = in->op ? 1 : in->osz;
	u64 src, la;
	int st = emu_rd_rm(e, in, n, &src, &la);
	if (st)
		return st;
	u32 crc = (u32)e->cpu.gpr[in->reg & 15];
	for (unsigned i = 0; i < n * 8; i++) {
		crc ^= (src >> i) & 1;
		crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	e->cpu.gpr[in->reg & 15] = crc;
	return emu_next(e, in);
}

/* RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (op 0-3): #UD without CR4.FSGSBASE,
 * #GP(0) for a non-canonical base. */
EMU_G(emu_op_fsgs)
{
	u64 *base = (in->op & 1) ? &e->cpu.gs_base : &e->cpu.fs_base, v = emu_rreg(e, in->rm, in->osz);
	if (!(e->cpu.cr4 & EMU_CR4_FSGSBASE))
		return emu_raise(e, EMU_EXC_UD, false, 0);
	if (in->op < 2) {
		emu_wreg(e, in->rm, in->osz, *base);
		return emu_next(e, in);
	}
	if ((u64)((i64)(v << 16) >> 16) != v)
		return emu_raise(e, EMU_EXC_GP, true, 0);
	*base = v;
	return emu_next(e, in);
}

/* CLFLUSH, CLFLUSHOPT, CLWB m8: faults and checks as a byte load, then nothing. */
EMU_G(emu_op_clflush)
{
	u64 v;
	return emu_cont(e, in, emu_read(e, emu_ea(e, in), 1, &v, in->flags & EMU_I_SS));
}
