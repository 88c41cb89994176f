/* ctl.c - data movement, stack and control transfer: MOV forms, MOVZX/MOVSX,
 * LEA, XCHG, PUSH/POP, PUSHF/POPF, ENTER/LEAVE, Jcc/JMP/CALL/RET, LOOP,
 * JrCXZ, XLAT; plus the handlers that stop the run (#UD, hypervisor exits,
 * unsupported). Near branches use 64-bit operand size even with 66 (Intel;
 * AMD honours 66). A non-canonical branch target faults at the branch (#GP,
 * Intel behaviour). No far transfers or segment loads: those stop the run. */
#include "emu_internal.h"

static bool canonical(u64 a)
{
	return (u64)((i64)(a << 16) >> 16) == a;
}

static void report(struct emu *e, const struct emu_insn *in)
{
	e->res.len = in->len;
	e->res.nbytes = in->len;
	__builtin_memcpy(e->res.bytes, in->raw, 15);
}

EMU_H(emu_op_ud)
{
	(void)in;
	return emu_raise(e, EMU_EXC_UD, false, 0);
}

EMU_H(emu_op_toolong)
{
	(void)in;
	return emu_raise(e, EMU_EXC_GP, true, 0);
}

EMU_H(emu_op_hv)
{
	e->res.reason = EMU_STOP_HYPERVISOR;
	e->res.exit = (enum emu_exit)in->ext;
	report(e, in);
	return EMU_STOP;
}

EMU_H(emu_op_unsupported)
{
	e->res.reason = EMU_STOP_UNSUPPORTED;
	report(e, in);
	e->res.len = 0;
	return EMU_STOP;
}

EMU_H(emu_op_nop)
{
	(void)e;
	(void)in;
	return 0;
}

/* 0F AE group: LFENCE/MFENCE/SFENCE (ext 1, register form) are no-ops
 * for a single interpreted CPU; everything else there is unsupported. */
EMU_H(emu_op_fence)
{
	if (in->ext == 1 && !(in->flags & (EMU_I_MEM | EMU_I_REP | EMU_I_OSZ)))
		return 0;
	if (!(in->flags & (EMU_I_MEM | EMU_I_REP))) /* no F3: not RDFSBASE... */
		return emu_raise(e, EMU_EXC_UD, false, 0);
	return emu_op_unsupported(e, in);
}

EMU_H(emu_op_mov_rm_r)
{
	unsigned sz = in->osz;
	u64 v = emu_rreg(e, emu_regreg(in, sz), sz); /* memory form only: see decode */
	return emu_write(e, emu_ea(e, in), sz, v, in->flags & EMU_I_SS);
}

/* MOV between registers (88-8B with ModRM.mod = 3). */
EMU_H(emu_op_mov_rr)
{
	unsigned sz = in->osz;
	emu_wreg(e, emu_rmreg(in, sz), sz, emu_rreg(e, emu_regreg(in, sz), sz));
	return 0;
}

/* Specialised MOV r64/r32 <- m and m <- r64/r32 through a TLB hit (picked
 * at decode time); anything else takes the generic handlers. */
EMU_H(emu_op_load_q)
{
	u64 la = emu_ea(e, in);
	u8 *p = emu_tlb(e, la, 8, 0);
	if (!p)
		return emu_op_mov_r_rm(e, in);
	e->cpu.gpr[in->reg] = emu_load(p, 8);
	return 0;
}

EMU_H(emu_op_load_d)
{
	u64 la = emu_ea(e, in);
	u8 *p = emu_tlb(e, la, 4, 0);
	if (!p)
		return emu_op_mov_r_rm(e, in);
	e->cpu.gpr[in->reg] = emu_load(p, 4);
	return 0;
}

EMU_H(emu_op_store_q)
{
	u64 la = emu_ea(e, in);
	u8 *p = emu_tlb(e, la, 8, 1);
	if (!p)
		return emu_op_mov_rm_r(e, in);
	emu_store(p, 8, e->cpu.gpr[in->reg]);
	return 0;
}

EMU_H(emu_op_store_d)
{
	u64 la = emu_ea(e, in);
	u8 *p = emu_tlb(e, la, 4, 1);
	if (!p)
		return emu_op_mov_rm_r(e, in);
	emu_store(p, 4, e->cpu.gpr[in->reg]);
	return 0;
}

EMU_H(emu_op_mov_r_rm)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	if (!st)
		emu_wreg(e, emu_regreg(in, in->osz), in->osz, v);
	return st;
}

EMU_H(emu_op_mov_rm_imm)
{
	u64 la = (in->flags & EMU_I_MEM) ? emu_ea(e, in) : 0;
	return emu_wr_rm(e, in, in->osz, la, 0, in->imm & emu_mask(in->osz), false);
}

EMU_H(emu_op_mov_r_imm)
{
	emu_wreg(e, emu_regreg(in, in->osz), in->osz, in->imm);
	return 0;
}

/* MOV AL/rAX <-> moffs (A0-A3); ext 1 = store. */
EMU_H(emu_op_mov_moffs)
{
	u64 la = in->imm + emu_seg(e, in), v; /* moffs */
	if (in->ext)
		return emu_write(e, la, in->osz, emu_rreg(e, EMU_RAX, in->osz), false);
	int st = emu_read(e, la, in->osz, &v, false);
	if (!st)
		emu_wreg(e, EMU_RAX, in->osz, v);
	return st;
}

/* MOVZX (ext = source size 1/2). */
EMU_H(emu_op_movzx)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->ext, &v, &la);
	if (!st)
		emu_wreg(e, in->reg, in->osz, v);
	return st;
}

/* MOVSX / MOVSXD (ext = source size 1/2/4, at most the operand size). */
EMU_H(emu_op_movsx)
{
	unsigned s = in->ext < in->osz ? in->ext : in->osz;
	u64 v, la;
	int st = emu_rd_rm(e, in, s, &v, &la);
	if (!st)
		emu_wreg(e, in->reg, in->osz, emu_sx(v, s));
	return st;
}

/* LEA: effective address without segment base, truncated to operand size. */
EMU_H(emu_op_lea)
{
	emu_wreg(e, in->reg, in->osz, emu_ea_off(e, in));
	return 0;
}

/* XCHG Ev,Gv: with memory it is locked whether or not F0 is given. */
EMU_H(emu_op_xchg)
{
	unsigned sz = in->osz, rg = emu_regreg(in, sz);
	u64 a, la, b = emu_rreg(e, rg, sz);
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (!st)
		st = emu_wr_rm(e, in, sz, la, a, b, true);
	if (!st)
		emu_wreg(e, rg, sz, a);
	return st;
}

/* 90+r: XCHG r,rAX; 90 itself (any size) is NOP, F3 90 is PAUSE. */
EMU_H(emu_op_xchg_ax)
{
	unsigned sz = in->osz;
	if (in->reg == 0)
		return 0;
	u64 a = emu_rreg(e, EMU_RAX, sz), b = emu_rreg(e, in->reg, sz);
	emu_wreg(e, EMU_RAX, sz, b);
	emu_wreg(e, in->reg, sz, a);
	return 0;
}

/* ---- stack (SDM "Stack", 64-bit: RSP, SS-relative) ---- */
static int push(struct emu *e, unsigned sz, u64 v)
{
	u64 sp = e->cpu.gpr[EMU_RSP] - sz;
	int st = emu_write(e, sp, sz, v, true);
	if (!st)
		e->cpu.gpr[EMU_RSP] = sp;
	return st;
}

EMU_H(emu_op_push_r)
{
	return push(e, in->osz, emu_rreg(e, in->reg, in->osz));
}

EMU_H(emu_op_push_imm)
{
	return push(e, in->osz, in->imm & emu_mask(in->osz));
}

EMU_H(emu_op_push_rm)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	return st ? st : push(e, in->osz, v);
}

EMU_H(emu_op_pop_r)
{
	u64 v;
	int st = emu_read(e, e->cpu.gpr[EMU_RSP], in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] += in->osz;
	emu_wreg(e, in->reg, in->osz, v);
	return 0;
}

/* POP Ev: a memory address based on RSP uses the incremented RSP. */
EMU_H(emu_op_pop_rm)
{
	u64 v, sp = e->cpu.gpr[EMU_RSP];
	int st = emu_read(e, sp, in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] = sp + in->osz;
	if (!(in->flags & EMU_I_MEM)) {
		emu_wreg(e, in->rm, in->osz, v);
		return 0;
	}
	st = emu_write(e, emu_ea(e, in), in->osz, v, in->flags & EMU_I_SS);
	if (st)
		e->cpu.gpr[EMU_RSP] = sp;
	return st;
}

/* PUSHF: RFLAGS with VM and RF cleared. */
EMU_H(emu_op_pushf)
{
	return push(e, in->osz, emu_get_rflags(e) & ~(u64)(EMU_VM | EMU_RF));
}

/* POPF (SDM "POPF"): IF changes only if CPL <= IOPL, IOPL only at CPL 0;
 * VM, VIF, VIP, RF are never loaded. TF is loaded but single-step traps
 * are not emulated. */
EMU_H(emu_op_popf)
{
	u64 v, f = emu_get_rflags(e);
	u64 ch = EMU_ARITH_FLAGS | EMU_TF | EMU_DF | EMU_NT | EMU_AC | EMU_ID;
	unsigned iopl = (unsigned)(f >> 12) & 3;
	int st = emu_read(e, e->cpu.gpr[EMU_RSP], in->osz, &v, true);
	if (st)
		return st;
	if (e->cpu.cpl <= iopl)
		ch |= EMU_IF;
	if (e->cpu.cpl == 0)
		ch |= EMU_IOPL;
	if (in->osz == 2)
		ch &= 0xffff;
	e->cpu.gpr[EMU_RSP] += in->osz;
	emu_set_rflags(e, (f & ~ch) | (v & ch));
	return 0;
}

/* ENTER Iw,Ib (SDM "ENTER", 64-bit): nesting level mod 32. */
EMU_H(emu_op_enter)
{
	unsigned sz = in->osz, lvl = in->imm2 & 31;
	u64 sp = e->cpu.gpr[EMU_RSP] - sz, bp = e->cpu.gpr[EMU_RBP], v;
	int st = emu_write(e, sp, sz, bp & emu_mask(sz), true);
	u64 frame = sp;
	for (unsigned i = 1; !st && i < lvl; i++) {
		bp -= sz;
		st = emu_read(e, bp & emu_mask(sz == 2 ? 8 : sz), sz, &v, true);
		sp -= sz;
		if (!st)
			st = emu_write(e, sp, sz, v, true);
	}
	if (!st && lvl) {
		sp -= sz;
		st = emu_write(e, sp, sz, frame & emu_mask(sz), true);
	}
	if (st)
		return st;
	emu_wreg(e, EMU_RBP, sz, frame);
	e->cpu.gpr[EMU_RSP] = sp - in->imm;
	return 0;
}

/* LEAVE: RSP = RBP, then pop RBP. */
EMU_H(emu_op_leave)
{
	u64 v, bp = e->cpu.gpr[EMU_RBP];
	int st = emu_read(e, bp, in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] = bp + in->osz;
	emu_wreg(e, EMU_RBP, in->osz, v);
	return 0;
}

static int branch(struct emu *e, u64 target)
{
	if (!canonical(target))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	e->next_rip = target;
	return 0;
}

EMU_H(emu_op_jcc)
{
	return emu_cond(e, in->ext) ? branch(e, e->next_rip + in->imm) : 0;
}

EMU_H(emu_op_jmp)
{
	return branch(e, e->next_rip + in->imm);
}

EMU_H(emu_op_call)
{
	u64 t = e->next_rip + in->imm;
	if (!canonical(t))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	int st = push(e, 8, e->next_rip);
	if (!st)
		e->next_rip = t;
	return st;
}

/* RET / RET Iw: pop RIP, then release Iw bytes. */
EMU_H(emu_op_ret)
{
	u64 t;
	int st = emu_read(e, e->cpu.gpr[EMU_RSP], 8, &t, true);
	if (!st)
		st = branch(e, t);
	if (!st)
		e->cpu.gpr[EMU_RSP] += 8 + in->imm;
	return st;
}

EMU_H(emu_op_jmp_rm)
{
	u64 t, la;
	int st = emu_rd_rm(e, in, 8, &t, &la);
	return st ? st : branch(e, t);
}

EMU_H(emu_op_call_rm)
{
	u64 t, la;
	int st = emu_rd_rm(e, in, 8, &t, &la);
	if (st)
		return st;
	if (!canonical(t))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	st = push(e, 8, e->next_rip);
	if (!st)
		e->next_rip = t;
	return st;
}

/* LOOPNE/LOOPE/LOOP (ext 0/1/2): count register sized by address size. */
EMU_H(emu_op_loop)
{
	u64 c = (e->cpu.gpr[EMU_RCX] - 1) & emu_mask(in->asz);
	bool take = c != 0;
	if (in->ext == 0)
		take = take && !emu_zf(e);
	else if (in->ext == 1)
		take = take && emu_zf(e);
	if (take) {
		int st = branch(e, e->next_rip + in->imm);
		if (st)
			return st;
	}
	emu_wreg(e, EMU_RCX, in->asz, c);
	return 0;
}

EMU_H(emu_op_jrcxz)
{
	if (e->cpu.gpr[EMU_RCX] & emu_mask(in->asz))
		return 0;
	return branch(e, e->next_rip + in->imm);
}

/* XLAT: AL = [rBX + zero-extended AL], segment override honoured. */
EMU_H(emu_op_xlat)
{
	u64 a = (e->cpu.gpr[EMU_RBX] + (e->cpu.gpr[EMU_RAX] & 0xff)) & emu_mask(in->asz), v;
	int st = emu_read(e, a + emu_seg(e, in), 1, &v, false);
	if (!st)
		emu_wreg(e, EMU_RAX, 1, v);
	return st;
}
