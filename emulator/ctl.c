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

EMU_G(emu_op_ud)
{
	(void)in;
	return emu_raise(e, EMU_EXC_UD, false, 0);
}

/* Stands in for the rest of a trace whose code was written (mem.c). */
EMU_G(emu_op_resync)
{
	(void)e;
	(void)in;
	return EMU_RESYNC;
}

/* The end marker after the last decode of a trace (or standing in for the
 * first one that must not run now). */
EMU_G(emu_op_end)
{
	(void)e;
	(void)in;
	return EMU_END;
}

EMU_G(emu_op_toolong)
{
	(void)in;
	return emu_raise(e, EMU_EXC_GP, true, 0);
}

/* The run loop reports the instruction's length and bytes. */
EMU_G(emu_op_hv)
{
	struct emu_result *r = &e->res;
	r->reason = EMU_STOP_HYPERVISOR;
	r->exit = (enum emu_exit)in->ext;
	r->vector = in->ext == EMU_X_INT ? (u8)in->imm : in->ext == EMU_X_INT3 ? 3 : in->ext == EMU_X_INT1;
	r->reg = in->rm;
	r->osz = in->osz;
	return EMU_STOP;
}

EMU_G(emu_op_unsupported)
{
	(void)in;
	e->res.reason = EMU_STOP_UNSUPPORTED;
	return EMU_STOP;
}

EMU_G(emu_op_nop)
{
	(void)e;
	(void)in;
	return emu_next(e, in);
}

/* LFENCE, MFENCE, SFENCE: no-ops for a single interpreted CPU. */
EMU_G(emu_op_fence)
{
	return emu_next(e, in);
}

EMU_G(emu_op_mov_rm_r)
{
	unsigned sz = in->osz;
	u64 v = emu_rreg(e, emu_regreg(in, sz), sz); /* memory form only: see decode */
	return emu_cont(e, in, emu_write(e, emu_ea(e, in), sz, v, in->flags & EMU_I_SS));
}

static EMU_H(lea8)
{
	e->cpu.gpr[in->reg] = e->cpu.reg[in->base] + (e->cpu.reg[in->index] << in->scale) + (u64)in->disp;
	return emu_next(e, in);
}

static EMU_H(lea4)
{
	e->cpu.gpr[in->reg] = (u32)(e->cpu.reg[in->base] + (e->cpu.reg[in->index] << in->scale) + (u64)in->disp);
	return emu_next(e, in);
}

/* LEA (without 0x67) of 32/64 bits, or fn itself. */
emu_fn emu_ctl_fast(emu_fn fn, const struct emu_insn *in)
{
	if (in->osz < 4 || (in->flags & EMU_I_A32) || fn != emu_op_lea)
		return fn;
	return in->osz == 8 ? lea8 : lea4;
}

/* Specialised MOV r64/r32 <- m and m <- r64/r32 through a TLB hit (picked
 * at decode time without FS/GS or 0x67); a miss takes the generic handlers. */
/* x: with an index register; ea: base + disp only */
#define LDST(sz, x, ea)                                                                   \
	static EMU_H(load##sz##x)                                                         \
	{                                                                                 \
		u8 *p;                                                                    \
		if (unlikely(!emu_tlb_get(e, ea, sz, 0, &p)))                             \
			return emu_op_mov_r_rm(e, in);                                    \
		e->cpu.gpr[in->reg] = emu_load(p, sz);                                    \
		return emu_next(e, in);                                                   \
	}                                                                                 \
	static EMU_H(store##sz##x)                                                        \
	{                                                                                 \
		u8 *p;                                                                    \
		if (unlikely(!emu_tlb_get(e, ea, sz, 1, &p)))                             \
			return emu_op_mov_rm_r(e, in);                                    \
		emu_store(p, sz, e->cpu.gpr[in->reg]);                                    \
		return emu_next(e, in);                                                   \
	}
LDST(4, x, emu_ea_fast(e, in))
LDST(8, x, emu_ea_fast(e, in))
LDST(4, b, e->cpu.reg[in->base] + (u64)in->disp)
LDST(8, b, e->cpu.reg[in->base] + (u64)in->disp)

/* MOV r32/r64 <- m and m <- r32/r64 (load 1, store 0) without FS/GS or 0x67. */
emu_fn emu_ldst_fast(bool load, const struct emu_insn *in)
{
	static const emu_fn f[2][2][2] = {{{store4b, store8b}, {store4x, store8x}},
					  {{load4b, load8b}, {load4x, load8x}}};
	return f[load][in->index != EMU_ZREG][in->osz == 8];
}

/* The other MOV forms (0: E = G, 1: G = E, 2: E = imm) per operand kind and
 * size, and MOVZX/MOVSX (kind 0/1) from ssz bytes into a dsz-byte register. */
static inline __attribute__((always_inline)) int
mov_x(struct emu *e, const struct emu_insn *in, unsigned form, bool mem, unsigned sz)
{
	unsigned g = sz == 1 ? in->reg8 : in->reg, r = sz == 1 ? in->rm8 : in->rm;
	u8 *p;
	u64 v;
	if (form == 1) { /* G = E */
		if (!mem) {
			v = emu_rreg(e, r, sz);
		} else if (likely(emu_tlb_get(e, emu_ea_fast(e, in), sz, 0, &p))) {
			v = emu_load(p, sz);
		} else {
			return emu_op_mov_r_rm(e, in);
		}
		emu_wreg(e, g, sz, v);
		return emu_next(e, in);
	}
	v = form == 2 ? in->imm : emu_rreg(e, g, sz);
	if (!mem)
		emu_wreg(e, r, sz, v);
	else if (likely(emu_tlb_get(e, emu_ea_fast(e, in), sz, 1, &p)))
		emu_store(p, sz, v);
	else
		return form ? emu_op_mov_rm_imm(e, in) : emu_op_mov_rm_r(e, in);
	return emu_next(e, in);
}

static inline __attribute__((always_inline)) int
ext_x(struct emu *e, const struct emu_insn *in, unsigned ssz, int sx, unsigned dsz, bool mem)
{
	u8 *p;
	u64 v;
	if (mem) {
		if (unlikely(!emu_tlb_get(e, emu_ea_fast(e, in), ssz, 0, &p)))
			return sx ? emu_op_movsx(e, in) : emu_op_movzx(e, in);
		v = emu_load(p, ssz);
	} else {
		v = emu_rreg(e, ssz == 1 ? in->rm8 : in->rm, ssz);
	}
	if (sx)
		v = emu_sx(v, ssz);
	e->cpu.gpr[in->reg] = dsz == 8 ? v : (u32)v;
	return emu_next(e, in);
}

#define MOV_S(f, mm)                                                               \
	static EMU_H(m##f##mm##_1) { return mov_x(e, in, f, mm, 1); }              \
	static EMU_H(m##f##mm##_2) { return mov_x(e, in, f, mm, 2); }              \
	static EMU_H(m##f##mm##_4) { return mov_x(e, in, f, mm, 4); }              \
	static EMU_H(m##f##mm##_8) { return mov_x(e, in, f, mm, 8); }
MOV_S(0, 0) MOV_S(0, 1) MOV_S(1, 0) MOV_S(1, 1) MOV_S(2, 0) MOV_S(2, 1)
#define MOV_T(f, mm) {m##f##mm##_1, m##f##mm##_2, m##f##mm##_4, m##f##mm##_8}
static const emu_fn mov_tab[3][2][4] = {{MOV_T(0, 0), MOV_T(0, 1)}, {MOV_T(1, 0), MOV_T(1, 1)},
					{MOV_T(2, 0), MOV_T(2, 1)}};
#define EXT_S(s, k, mm)                                                            \
	static EMU_H(x##s##k##mm##_4) { return ext_x(e, in, s, k, 4, mm); }        \
	static EMU_H(x##s##k##mm##_8) { return ext_x(e, in, s, k, 8, mm); }
EXT_S(1, 0, 0) EXT_S(1, 0, 1) EXT_S(1, 1, 0) EXT_S(1, 1, 1) EXT_S(2, 0, 0) EXT_S(2, 0, 1)
EXT_S(2, 1, 0) EXT_S(2, 1, 1) EXT_S(4, 1, 0) EXT_S(4, 1, 1)
#define EXT_T(s, k) {{x##s##k##0_4, x##s##k##0_8}, {x##s##k##1_4, x##s##k##1_8}}
static const emu_fn ext_tab[3][2][2][2] = {{EXT_T(1, 0), EXT_T(1, 1)}, {EXT_T(2, 0), EXT_T(2, 1)},
					   {EXT_T(4, 1), EXT_T(4, 1)}};

/* MOV (88-8B, C6/C7), MOVZX, MOVSX, MOVSXD: the specialised handler, or fn. */
emu_fn emu_mov_fast(emu_fn fn, const struct emu_insn *in)
{
	bool mem = in->flags & EMU_I_MEM;
	unsigned si = in->osz == 8 ? 3 : in->osz / 2;
	if (mem && (in->flags & EMU_I_SLOWEA))
		return fn;
	if (fn == emu_op_movzx || fn == emu_op_movsx) {
		if (in->osz < 4 || (fn == emu_op_movzx && in->ext == 4) || (in->ext == 4 && in->osz == 4))
			return fn;
		return ext_tab[in->ext / 2][fn == emu_op_movsx][mem][in->osz == 8];
	}
	if (mem && in->osz >= 4 && fn != emu_op_mov_rm_imm)
		return emu_ldst_fast(fn == emu_op_mov_r_rm, in);
	return mov_tab[fn == emu_op_mov_rm_r ? 0 : fn == emu_op_mov_r_rm ? 1 : 2][mem][si];
}

EMU_G(emu_op_mov_r_rm)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	if (!st)
		emu_wreg(e, emu_regreg(in, in->osz), in->osz, v);
	return emu_cont(e, in, st);
}

EMU_G(emu_op_mov_rm_imm)
{
	u64 la = (in->flags & EMU_I_MEM) ? emu_ea(e, in) : 0;
	return emu_cont(e, in, emu_wr_rm(e, in, in->osz, la, 0, in->imm & emu_mask(in->osz), false));
}

EMU_G(emu_op_mov_r_imm)
{
	emu_wreg(e, emu_regreg(in, in->osz), in->osz, in->imm);
	return emu_next(e, in);
}

/* MOV AL/rAX <-> moffs (A0-A3); ext 1 = store. */
EMU_G(emu_op_mov_moffs)
{
	u64 la = in->imm + emu_seg(e, in), v; /* moffs */
	if (in->ext)
		return emu_cont(e, in, emu_write(e, la, in->osz, emu_rreg(e, EMU_RAX, in->osz), false));
	int st = emu_read(e, la, in->osz, &v, false);
	if (!st)
		emu_wreg(e, EMU_RAX, in->osz, v);
	return emu_cont(e, in, st);
}

/* MOVZX (ext = source size 1/2). */
EMU_G(emu_op_movzx)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->ext, &v, &la);
	if (!st)
		emu_wreg(e, in->reg, in->osz, v);
	return emu_cont(e, in, st);
}

/* MOVSX / MOVSXD (ext = source size 1/2/4, at most the operand size). */
EMU_G(emu_op_movsx)
{
	unsigned s = in->ext < in->osz ? in->ext : in->osz;
	u64 v, la;
	int st = emu_rd_rm(e, in, s, &v, &la);
	if (!st)
		emu_wreg(e, in->reg, in->osz, emu_sx(v, s));
	return emu_cont(e, in, st);
}

/* LEA: effective address without segment base, truncated to operand size. */
EMU_G(emu_op_lea)
{
	emu_wreg(e, in->reg, in->osz, emu_ea_off(e, in));
	return emu_next(e, in);
}

/* XCHG Ev,Gv: with memory it is locked whether or not F0 is given. */
EMU_G(emu_op_xchg)
{
	unsigned sz = in->osz, rg = emu_regreg(in, sz);
	u64 a, la, b = emu_rreg(e, rg, sz);
	int st = emu_rd_rm(e, in, sz, &a, &la);
	if (!st)
		st = emu_wr_rm(e, in, sz, la, a, b, true);
	if (!st)
		emu_wreg(e, rg, sz, a);
	return emu_cont(e, in, st);
}

/* 90+r: XCHG r,rAX; 90 itself (any size) is NOP, F3 90 is PAUSE. */
EMU_G(emu_op_xchg_ax)
{
	unsigned sz = in->osz;
	if (in->reg == 0)
		return emu_next(e, in);
	u64 a = emu_rreg(e, EMU_RAX, sz), b = emu_rreg(e, in->reg, sz);
	emu_wreg(e, EMU_RAX, sz, b);
	emu_wreg(e, in->reg, sz, a);
	return emu_next(e, in);
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

EMU_G(emu_op_push_r)
{
	return emu_cont(e, in, push(e, in->osz, emu_rreg(e, in->reg, in->osz)));
}

EMU_G(emu_op_push_imm)
{
	return emu_cont(e, in, push(e, in->osz, in->imm & emu_mask(in->osz)));
}

EMU_G(emu_op_push_rm)
{
	u64 v, la;
	int st = emu_rd_rm(e, in, in->osz, &v, &la);
	return st ? st : emu_cont(e, in, push(e, in->osz, v));
}

/* PUSH r64 / POP r64 through the TLB (the stack page); a miss: the generic ones. */
static EMU_H(push8)
{
	u8 *p;
	u64 sp = e->cpu.gpr[EMU_RSP] - 8;
	if (unlikely(!emu_tlb_get(e, sp, 8, 1, &p)))
		return emu_op_push_r(e, in);
	emu_store(p, 8, e->cpu.gpr[in->reg]);
	e->cpu.gpr[EMU_RSP] = sp;
	return emu_next(e, in);
}

static EMU_H(pop8)
{
	u8 *p;
	u64 sp = e->cpu.gpr[EMU_RSP];
	if (unlikely(!emu_tlb_get(e, sp, 8, 0, &p)))
		return emu_op_pop_r(e, in);
	e->cpu.gpr[EMU_RSP] = sp + 8;
	e->cpu.gpr[in->reg] = emu_load(p, 8); /* POP RSP: the value read wins */
	return emu_next(e, in);
}

emu_fn emu_stack_fast(emu_fn fn, const struct emu_insn *in)
{
	if (in->osz != 8)
		return fn;
	return fn == emu_op_push_r ? push8 : pop8;
}

EMU_G(emu_op_pop_r)
{
	u64 v;
	int st = emu_read(e, e->cpu.gpr[EMU_RSP], in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] += in->osz;
	emu_wreg(e, in->reg, in->osz, v);
	return emu_next(e, in);
}

/* POP Ev: a memory address based on RSP uses the incremented RSP. */
EMU_G(emu_op_pop_rm)
{
	u64 v, sp = e->cpu.gpr[EMU_RSP];
	int st = emu_read(e, sp, in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] = sp + in->osz;
	if (!(in->flags & EMU_I_MEM)) {
		emu_wreg(e, in->rm, in->osz, v);
		return emu_next(e, in);
	}
	st = emu_write(e, emu_ea(e, in), in->osz, v, in->flags & EMU_I_SS);
	if (st)
		e->cpu.gpr[EMU_RSP] = sp;
	return emu_cont(e, in, st);
}

/* PUSHF: RFLAGS with VM and RF cleared. */
EMU_G(emu_op_pushf)
{
	return emu_cont(e, in, push(e, in->osz, emu_get_rflags(e) & ~(u64)(EMU_VM | EMU_RF)));
}

/* POPF (SDM "POPF"): IF changes only if CPL <= IOPL, IOPL only at CPL 0;
 * VM, VIF, VIP, RF are never loaded. With TF set afterwards the run goes on
 * one instruction at a time (run.c): the trap comes after the next one. */
EMU_G(emu_op_popf)
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
	bool ac = e->cpu.cpl == 3 && (e->cpu.cr0 & EMU_CR0_AM) && ((f ^ v) & EMU_AC);
	if (!(e->cpu.rflags_sys & EMU_TF) && !ac)
		return emu_next(e, in);
	e->cpu.rip = emu_next_rip(e, in);
	return EMU_MODE;
}

/* ENTER Iw,Ib (SDM "ENTER", 64-bit): nesting level mod 32. */
EMU_G(emu_op_enter)
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
	return emu_next(e, in);
}

/* LEAVE: RSP = RBP, then pop RBP. */
EMU_G(emu_op_leave)
{
	u64 v, bp = e->cpu.gpr[EMU_RBP];
	int st = emu_read(e, bp, in->osz, &v, true);
	if (st)
		return st;
	e->cpu.gpr[EMU_RSP] = bp + in->osz;
	emu_wreg(e, EMU_RBP, in->osz, v);
	return emu_next(e, in);
}

static int branch(struct emu *e, u64 target)
{
	if (!canonical(target))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	e->cpu.rip = target;
	return EMU_BRANCH;
}

/* Relative branches: in->imm holds the absolute target (decode.c). */
EMU_G(emu_op_jcc)
{
	return emu_cond(e, in->ext) ? branch(e, in->imm) : emu_next(e, in);
}

/* Jcc with a canonical target, one handler per condition. */
#define JCC(cc)                                                                      \
	static EMU_H(jcc##cc)                                                        \
	{                                                                            \
		if (!emu_cond(e, cc))                                                \
			return emu_next(e, in);                                      \
		if (emu_may_again(e, in, in->imm))                                   \
			return emu_again(e, in);                                     \
		e->cpu.rip = in->imm;                                                \
		e->at = in;                                                          \
		return EMU_BRANCH;                                                   \
	}
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)
static const emu_fn jcc_fast[16] = {jcc0, jcc1, jcc2, jcc3, jcc4, jcc5, jcc6, jcc7,
				    jcc8, jcc9, jcc10, jcc11, jcc12, jcc13, jcc14, jcc15};
emu_fn emu_jcc_fast(unsigned cc) { return jcc_fast[cc & 15]; }

EMU_G(emu_op_jmp)
{
	return branch(e, in->imm);
}

/* CALL rel32: in->disp holds the return address. */
EMU_G(emu_op_call)
{
	if (!canonical(in->imm))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	int st = push(e, 8, (u64)in->disp);
	if (st)
		return st;
	e->cpu.rip = in->imm;
	return EMU_BRANCH;
}

/* RET / RET Iw: pop RIP, then release Iw bytes. */
EMU_G(emu_op_ret)
{
	u64 t;
	int st = emu_read(e, e->cpu.gpr[EMU_RSP], 8, &t, true);
	if (st)
		return st;
	if (!canonical(t))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	e->cpu.gpr[EMU_RSP] += 8 + in->imm;
	e->cpu.rip = t;
	return EMU_BRANCH;
}

EMU_G(emu_op_jmp_rm)
{
	u64 t, la;
	int st = emu_rd_rm(e, in, 8, &t, &la);
	return st ? st : branch(e, t);
}

/* JMP r64 and JMP m64 (jump tables) through the TLB. */
static EMU_H(jmp_r)
{
	e->at = in;
	return branch(e, e->cpu.gpr[in->rm]);
}
static EMU_H(jmp_m)
{
	u8 *p;
	e->at = in;
	if (unlikely(!emu_tlb_get(e, emu_ea_fast(e, in), 8, 0, &p)))
		return emu_op_jmp_rm(e, in);
	return branch(e, emu_load(p, 8));
}

emu_fn emu_jmp_fast(const struct emu_insn *in)
{
	if (!(in->flags & EMU_I_MEM))
		return jmp_r;
	return (in->flags & EMU_I_SLOWEA) ? emu_op_jmp_rm : jmp_m;
}

EMU_G(emu_op_call_rm)
{
	u64 t, la;
	int st = emu_rd_rm(e, in, 8, &t, &la);
	if (st)
		return st;
	if (!canonical(t))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	st = push(e, 8, emu_next_rip(e, in));
	if (st)
		return st;
	e->cpu.rip = t;
	return EMU_BRANCH;
}

/* LOOPNE/LOOPE/LOOP (ext 0/1/2): count register sized by address size. */
EMU_G(emu_op_loop)
{
	u64 c = (e->cpu.gpr[EMU_RCX] - 1) & emu_mask(emu_asz(in));
	bool take = c != 0;
	if (in->ext == 0)
		take = take && !emu_zf(e);
	else if (in->ext == 1)
		take = take && emu_zf(e);
	if (take && !canonical(in->imm))
		return emu_raise(e, EMU_EXC_GP, true, 0);
	emu_wreg(e, EMU_RCX, emu_asz(in), c);
	if (!take)
		return emu_next(e, in);
	e->cpu.rip = in->imm;
	return EMU_BRANCH;
}

EMU_G(emu_op_jrcxz)
{
	if (e->cpu.gpr[EMU_RCX] & emu_mask(emu_asz(in)))
		return emu_next(e, in);
	return branch(e, in->imm);
}

/* XLAT: AL = [rBX + zero-extended AL], segment override honoured. */
EMU_G(emu_op_xlat)
{
	u64 a = (e->cpu.gpr[EMU_RBX] + (e->cpu.gpr[EMU_RAX] & 0xff)) & emu_mask(emu_asz(in)), v;
	int st = emu_read(e, a + emu_seg(e, in), 1, &v, false);
	if (!st)
		emu_wreg(e, EMU_RAX, 1, v);
	return emu_cont(e, in, st);
}
