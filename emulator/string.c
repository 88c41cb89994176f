/* string.c - MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE (SDM
 * "REP/REPE/REPZ/REPNE/REPNZ"). Each iteration commits RSI/RDI/RCX, so a
 * fault leaves the registers at the completed iterations and RIP at the
 * instruction, like hardware. Every iteration counts against the budget;
 * a budget stop mid-REP is restartable the same way. REP MOVS/STOS with
 * DF=0 copy page-sized chunks through host pointers when the TLB allows. */
#include "emu_internal.h"

enum { MOVS, STOS, LODS, CMPS, SCAS };

/* One iteration; updates RSI/RDI/flags/RAX on success only. */
static int iter(struct emu *e, const struct emu_insn *in, int kind, u64 sbase)
{
	unsigned sz = in->osz, asz = emu_asz(in);
	u64 am = emu_mask(asz), si = e->cpu.gpr[EMU_RSI] & am, di = e->cpu.gpr[EMU_RDI] & am;
	u64 step = (e->cpu.rflags_sys & EMU_DF) ? 0 - (u64)sz : sz, a = 0, b = 0;
	int st = 0;
	if (kind == MOVS || kind == LODS || kind == CMPS)
		st = emu_read(e, si + sbase, sz, &a, false);
	if (!st && (kind == CMPS || kind == SCAS))
		st = emu_read(e, di, sz, &b, false);
	if (!st && kind == MOVS)
		st = emu_write(e, di, sz, a, false);
	if (!st && kind == STOS)
		st = emu_write(e, di, sz, emu_rreg(e, EMU_RAX, sz), false);
	if (st)
		return st;
	if (kind == LODS)
		emu_wreg(e, EMU_RAX, sz, a);
	if (kind == SCAS)
		a = emu_rreg(e, EMU_RAX, sz);
	if (kind == CMPS || kind == SCAS)
		emu_lf_sub(e, a, b, (a - b) & emu_mask(sz), sz);
	if (kind == MOVS || kind == LODS || kind == CMPS)
		emu_wreg(e, EMU_RSI, asz, si + step);
	if (kind != LODS)
		emu_wreg(e, EMU_RDI, asz, di + step);
	return 0;
}

/* Copy or fill n elements forward through host pointers. */
static void bulk(u8 *d, const u8 *s, u64 v, unsigned sz, u64 n, bool fill)
{
	u64 bytes = n * sz;
	if (fill) {
		for (u64 i = 0; i < n; i++)
			emu_store(d + i * sz, sz, v);
	} else if (d >= s + bytes || d + bytes <= s) {
		u64 i = 0;
		for (; i + 8 <= bytes; i += 8)
			emu_store(d + i, 8, emu_load(s + i, 8));
		for (; i < bytes; i++)
			d[i] = s[i];
	} else {
		for (u64 i = 0; i < n; i++) /* overlap: element order matters */
			emu_store(d + i * sz, sz, emu_load(s + i * sz, sz));
	}
}

/* Fast REP MOVS/STOS chunk within one source and one destination page.
 * Returns the number of elements done (0: take the slow path). */
static u64 chunk(struct emu *e, const struct emu_insn *in, int kind,
		 u64 sbase, u64 limit)
{
	unsigned sz = in->osz;
	u64 si = e->cpu.gpr[EMU_RSI] + sbase, di = e->cpu.gpr[EMU_RDI];
	u64 n = limit, room = (4096 - (di & 4095)) / sz;
	if (room < n)
		n = room;
	if (kind == MOVS && (4096 - (si & 4095)) / sz < n)
		n = (4096 - (si & 4095)) / sz;
	if (!n)
		return 0;
	u8 *d = emu_tlb(e, di, (unsigned)(n * sz), 1), *s = 0;
	if (kind == MOVS)
		s = emu_tlb(e, si, (unsigned)(n * sz), 0);
	if (!d || (kind == MOVS && !s))
		return 0;
	bulk(d, s, emu_rreg(e, EMU_RAX, sz), sz, n, kind == STOS);
	if (kind == MOVS)
		e->cpu.gpr[EMU_RSI] += n * sz;
	e->cpu.gpr[EMU_RDI] += n * sz;
	e->cpu.gpr[EMU_RCX] -= n;
	return n;
}

/* REP forms end their trace, so when one runs the run loop has charged the
 * budget for it and nothing after it: avail = e->budget + 1 iterations may
 * run. On a stop the run loop refunds one, so e->budget is left such that
 * exactly the completed iterations count. */
static int string_op(struct emu *e, const struct emu_insn *in, int kind)
{
	u64 sbase = emu_seg(e, in), avail = e->budget + 1, done = 0;
	u64 am = emu_mask(emu_asz(in));
	if (!(in->flags & (EMU_I_REP | EMU_I_REPNE)))
		return iter(e, in, kind, sbase);
	bool fast = (kind == MOVS || kind == STOS) && emu_asz(in) == 8 &&
		    !(e->cpu.rflags_sys & EMU_DF);
	for (;;) {
		u64 c = e->cpu.gpr[EMU_RCX] & am;
		if (!c)
			break;
		if (done == avail) {
			e->budget = avail - done - 1;
			e->res.reason = EMU_STOP_BUDGET;
			return EMU_STOP;
		}
		if (fast) {
			u64 n = chunk(e, in, kind, sbase, c < avail - done ? c : avail - done);
			done += n;
			if (n)
				continue;
		}
		int st = iter(e, in, kind, sbase);
		if (st) {
			e->budget = avail - done - 1;
			return st;
		}
		done++;
		emu_wreg(e, EMU_RCX, emu_asz(in), c - 1);
		if (kind == CMPS || kind == SCAS) {
			if ((in->flags & EMU_I_REP) && !emu_zf(e))
				break;
			if ((in->flags & EMU_I_REPNE) && emu_zf(e))
				break;
		}
	}
	e->budget = avail - (done ? done : 1);
	return 0;
}

EMU_G(emu_op_movs) { return emu_cont(e, in, string_op(e, in, MOVS)); }
EMU_G(emu_op_stos) { return emu_cont(e, in, string_op(e, in, STOS)); }
EMU_G(emu_op_lods) { return emu_cont(e, in, string_op(e, in, LODS)); }
EMU_G(emu_op_cmps) { return emu_cont(e, in, string_op(e, in, CMPS)); }
EMU_G(emu_op_scas) { return emu_cont(e, in, string_op(e, in, SCAS)); }
