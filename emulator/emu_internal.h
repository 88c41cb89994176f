/* emu_internal.h - shared helpers of the interpreter: register access, lazy
 * flags, memory fast paths and the handler prototypes of the opcode tables.
 * Lazy flags keep the result and the operands of the last flag-setting
 * operation, all sign-extended from the operand size, and what kind of
 * operation it was; a flag is only computed when something reads it.
 * Not a public interface: only the emulator sources include it. */
#ifndef HVLAB_EMU_INTERNAL_H
#define HVLAB_EMU_INTERNAL_H

#include "emu.h"

#define EMU_ZREG 16 /* the zero register: an absent base or index */

/* emu_insn.flags */
#define EMU_I_MEM 0x0001    /* ModRM names memory */
#define EMU_I_FM 0x0002     /* like EMU_I_FW, but may stop (a memory operand); alt = its twin */
#define EMU_I_LOCK 0x0004   /* F0 */
#define EMU_I_REP 0x0008    /* F3 */
#define EMU_I_REPNE 0x0010  /* F2 */
#define EMU_I_FS 0x0020     /* FS override */
#define EMU_I_GS 0x0040     /* GS override */
#define EMU_I_SS 0x0080     /* memory operand defaults to SS (base RSP/RBP) */
#define EMU_I_REXW 0x0100   /* REX.W */
#define EMU_I_OSZ 0x0200    /* 66 prefix */
#define EMU_I_A32 0x0400    /* 67 prefix: 32-bit addressing */
#define EMU_I_END 0x0800    /* ends its trace (branch, stop, REP string, POPF) */
#define EMU_I_ALIGN 0x1000  /* SSE: a 16-byte memory operand must be aligned */
#define EMU_I_SLOWEA (EMU_I_FS | EMU_I_GS | EMU_I_A32)
#define EMU_I_FW 0x2000     /* sets all arithmetic flags, reads none, never stops; alt = its twin */
#define EMU_I_FT 0x4000     /* neither reads nor writes flags and never stops (MOV, LEA on registers) */
#define EMU_I_NF 0x8000     /* fn is the twin: its flags are dead (run.c flags_dead) */

/* What a handler returns to the run loop. A handler that retires its
 * instruction and falls through tail-calls the next decode of its trace
 * (emu_next), so a trace runs as a chain of jumps ending at its end marker.
 * Every status comes back with emu.at at the decode that returned it (EMU_G
 * handlers, the end marker and branches set it). */
#define EMU_STOP 1   /* stop the run (e->res filled), instruction not retired */
#define EMU_RETRY 2  /* LOCK CAS lost: execute it again */
#define EMU_BRANCH 3 /* retired, cpu.rip holds the next RIP */
#define EMU_RESYNC 4 /* not run: the code may have changed, decode it again */
#define EMU_END 5    /* the end marker: RIP = trace start + its off */
#define EMU_MODE 6   /* retired, cpu.rip holds the next RIP; TF changed (POPF) */

/* CPUID feature bits: word (struct emu_cpuid order) * 32 + bit (SDM "CPUID"). */
enum {
	EMU_F_SSE3 = 0, EMU_F_SSSE3 = 9, EMU_F_CX16 = 13, EMU_F_SSE41 = 19, EMU_F_SSE42 = 20,
	EMU_F_MOVBE = 22, EMU_F_POPCNT = 23, EMU_F_RDRAND = 30,
	EMU_F_CLFSH = 32 + 19, EMU_F_FXSR = 32 + 24, EMU_F_SSE = 32 + 25, EMU_F_SSE2 = 32 + 26,
	EMU_F_FSGSBASE = 64 + 0, EMU_F_BMI1 = 64 + 3, EMU_F_BMI2 = 64 + 8, EMU_F_RDSEED = 64 + 18,
	EMU_F_ADX = 64 + 19, EMU_F_CLFLUSHOPT = 64 + 23, EMU_F_CLWB = 64 + 24,
	EMU_F_RDPID = 96 + 22,
	EMU_F_AVX = 28, EMU_F_AVX512F = 64 + 16,
	EMU_F_LAHF = 128 + 0, EMU_F_LZCNT = 128 + 5,
	EMU_F_NONE = 255, /* always present */
};

/* Where the handler not in fn of a decode with a flag twin is kept. */
static inline emu_fn *emu_twin(struct emu_insn *in)
{
	return (in->flags & EMU_I_FM) ? &in->alt_m : &in->alt;
}

static inline bool emu_has(const struct emu *e, unsigned f)
{
	const u32 *w = &e->cpuid.l1_ecx;
	return f == EMU_F_NONE || ((w[f >> 5] >> (f & 31)) & 1);
}

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline u64 emu_mask(unsigned sz)
{
	return sz == 8 ? ~0ull : (1ull << (sz * 8)) - 1;
}

static inline u64 emu_sx(u64 v, unsigned sz)
{
	unsigned s = 64 - sz * 8;
	return (u64)((i64)(v << s) >> s);
}

/* Register file: byte registers 0x10..0x13 are AH, CH, DH, BH. */
static inline u64 emu_rreg(const struct emu *e, unsigned r, unsigned sz)
{
	if (sz == 1)
		return (r & 0x10) ? (e->cpu.gpr[r & 3] >> 8) & 0xff : e->cpu.gpr[r & 15] & 0xff;
	return e->cpu.gpr[r] & emu_mask(sz); /* 2 bytes or more: registers 0-15 */
}

static inline void emu_wreg(struct emu *e, unsigned r, unsigned sz, u64 v)
{
	u64 *g = &e->cpu.gpr[sz == 1 ? r & 15 : r];
	switch (sz) {
	case 1:
		if (r & 0x10) {
			g = &e->cpu.gpr[r & 3];
			*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
		} else {
			*g = (*g & ~0xffull) | (v & 0xff);
		}
		break;
	case 2: *g = (*g & ~0xffffull) | (v & 0xffff); break;
	case 4: *g = (u32)v; break;
	default: *g = v; break;
	}
}

/* ---- lazy flags (SDM "Status Flags") ----
 * lf_res, lf_a, lf_b are sign-extended from the operand size, so every flag
 * is read at bit 63 (or the low bits) whatever the size: sign extension copies
 * bit n-1 to bit 63 and keeps unsigned and signed order. lf_op says how: */
enum {
	EMU_LF_ADD,   /* res = a + b (+ CF): ADD, ADC, XADD */
	EMU_LF_SUB,   /* res = a - b: SUB, CMP, NEG (a = 0), CMPXCHG, CMPS, SCAS */
	EMU_LF_SBB,   /* res = a - b - CF */
	EMU_LF_LOGIC, /* CF = OF = AF = 0 */
	EMU_LF_INC,   /* res = a + 1, CF = b */
	EMU_LF_DEC,   /* res = a - 1, CF = b */
	EMU_LF_CO,    /* ZF SF PF from res, CF OF AF from b (RFLAGS layout) */
	EMU_LF_FLAGS, /* all six in b (RFLAGS layout); res = !ZF */
	EMU_LF_ROT,   /* ROL/ROR/RCL/RCR over the kind in bits 7:4: CF = bit 8, OF = bit 9 */
};

static inline void emu_lf(struct emu *e, u32 op, u64 a, u64 b, u64 r, unsigned sz)
{
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_a = emu_sx(a, sz);
	e->cpu.lf_b = emu_sx(b, sz);
	e->cpu.lf_op = op;
}

static inline void emu_lf_add(struct emu *e, u64 a, u64 b, u64 r, unsigned sz)
{
	emu_lf(e, EMU_LF_ADD, a, b, r, sz);
}

static inline void emu_lf_sub(struct emu *e, u64 a, u64 b, u64 r, unsigned sz)
{
	emu_lf(e, EMU_LF_SUB, a, b, r, sz);
}

static inline void emu_lf_logic(struct emu *e, u64 r, unsigned sz)
{
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_op = EMU_LF_LOGIC;
}

/* SF/ZF/PF from r, CF/OF/AF given explicitly. */
static inline void emu_lf_res(struct emu *e, u64 r, unsigned sz, unsigned cf,
			      unsigned of, unsigned af)
{
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_b = cf | ((u64)of << 11) | ((u64)af << 4);
	e->cpu.lf_op = EMU_LF_CO;
}

static inline unsigned emu_parity(u64 v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

u64 emu_arith_flags(const struct emu *e);
void emu_set_arith_flags(struct emu *e, u64 f);
bool emu_cond_slow(const struct emu *e, unsigned cc);
unsigned emu_cf_slow(const struct emu *e);

static inline unsigned emu_zf(const struct emu *e) { return e->cpu.lf_res == 0; }
static inline unsigned emu_cf(const struct emu *e)
{
	if (e->cpu.lf_op == EMU_LF_SUB)
		return e->cpu.lf_a < e->cpu.lf_b;
	if (e->cpu.lf_op == EMU_LF_LOGIC)
		return 0;
	return emu_cf_slow(e);
}

/* Condition codes 0..15 (SDM "EFLAGS Condition Codes"): E/NE from the
 * result, the rest directly from CMP/SUB or logic operands where possible. */
static inline __attribute__((always_inline)) bool emu_cond(const struct emu *e, unsigned cc)
{
	const struct emu_cpu *c = &e->cpu;
	unsigned r;
	if ((cc >> 1) == 2)
		return (c->lf_res == 0) ^ (cc & 1);
	if (c->lf_op == EMU_LF_SUB) {
		switch (cc >> 1) {
		case 1: r = c->lf_a < c->lf_b; break;
		case 3: r = c->lf_a <= c->lf_b; break;
		case 4: r = c->lf_res >> 63; break;
		case 6: r = (i64)c->lf_a < (i64)c->lf_b; break;
		case 7: r = (i64)c->lf_a <= (i64)c->lf_b; break;
		default: return emu_cond_slow(e, cc);
		}
		return r ^ (cc & 1);
	}
	if (c->lf_op == EMU_LF_LOGIC) {
		switch (cc >> 1) {
		case 0: case 1: r = 0; break;
		case 3: r = c->lf_res == 0; break;
		case 4: case 6: r = c->lf_res >> 63; break;
		case 7: r = c->lf_res == 0 || (i64)c->lf_res < 0; break;
		default: return emu_cond_slow(e, cc);
		}
		return r ^ (cc & 1);
	}
	return emu_cond_slow(e, cc);
}

/* ---- ALU results (alu.c, fuse.c) ----
 * The eight classic ALU operations, in opcode order (SDM "One-byte Opcode Map" rows 0-3):
 * the result (cf: the carry-in of ADC/SBB), then the flags. */
static inline __attribute__((always_inline)) u64 emu_alu_val(unsigned op, u64 a, u64 b, u64 cf, unsigned sz)
{
	u64 m = emu_mask(sz);
	switch (op) {
	case 0: return (a + b) & m;
	case 1: return a | b;
	case 2: return (a + b + cf) & m;
	case 3: return (a - b - cf) & m;
	case 4: return a & b;
	case 6: return a ^ b;
	default: return (a - b) & m;
	}
}

static inline __attribute__((always_inline)) void emu_alu_flags(struct emu *e, unsigned op, u64 a, u64 b, u64 r,
								unsigned sz)
{
	switch (op) {
	case 0: case 2: emu_lf(e, EMU_LF_ADD, a, b, r, sz); break;
	case 3: emu_lf(e, EMU_LF_SBB, a, b, r, sz); break;
	case 5: case 7: emu_lf(e, EMU_LF_SUB, a, b, r, sz); break;
	default: emu_lf_logic(e, r, sz); break;
	}
}

/* SHL/SHR/SAR (ops 4-7); n is the masked, non-zero count. */
static inline __attribute__((always_inline)) u64
emu_shift(unsigned op, u64 a, unsigned n, unsigned sz, unsigned *cf, unsigned *of)
{
	unsigned bits = sz * 8;
	u64 m = emu_mask(sz), r;
	if (op == 5) {
		r = a >> n;
		*cf = (a >> (n - 1)) & 1;
		*of = (a >> (bits - 1)) & 1;
	} else if (op == 7) {
		u64 s = emu_sx(a, sz);
		r = (u64)((i64)s >> (n > 63 ? 63 : n)) & m;
		*cf = (u64)((i64)s >> (n - 1)) & 1;
		*of = 0;
	} else {
		r = n >= 64 ? 0 : (a << n) & m;
		*cf = bits < 64 ? ((a << n) >> bits) & 1 : (a >> (64 - n)) & 1;
		*of = ((r >> (bits - 1)) & 1) ^ *cf;
	}
	return r;
}

/* ---- memory (mem.c) ---- */
int emu_mem_slow(struct emu *e, u64 la, void *buf, u32 size, u32 kind, bool ss);
u8 *emu_tlb_fill(struct emu *e, u64 la, u32 kind);
int emu_raise(struct emu *e, u8 vector, bool has_error, u32 error_code);
bool emu_cas(u8 *p, unsigned sz, u64 old, u64 v);
void emu_bump_gen(struct emu *e);
void emu_tlb_flush(struct emu *e, unsigned k);
void emu_mark_code(struct emu *e, u64 frame);
int emu_fetch(struct emu *e, u64 la, u8 *buf, unsigned n, u64 *frame);
u64 emu_ea_slow(const struct emu *e, const struct emu_insn *in, u64 a);

/* Effective address of the ModRM memory operand (SDM "Specifying an Offset"), without
 * the segment base (LEA), and the linear address with FS/GS base added. */
static inline u64 emu_ea_off(const struct emu *e, const struct emu_insn *in)
{
	u64 a = e->cpu.reg[in->base] + (e->cpu.reg[in->index] << in->scale) + (u64)in->disp;
	return (in->flags & EMU_I_A32) ? (u32)a : a;
}

static inline u64 emu_seg(const struct emu *e, const struct emu_insn *in)
{
	if (!(in->flags & (EMU_I_FS | EMU_I_GS)))
		return 0;
	return (in->flags & EMU_I_FS) ? e->cpu.fs_base : e->cpu.gs_base;
}

/* Without FS/GS or 0x67 (the specialised handlers are only chosen then). */
static inline u64 emu_ea_fast(const struct emu *e, const struct emu_insn *in)
{
	return e->cpu.reg[in->base] + (e->cpu.reg[in->index] << in->scale) + (u64)in->disp;
}

static inline u64 emu_ea(const struct emu *e, const struct emu_insn *in)
{
	u64 a = e->cpu.reg[in->base] + (e->cpu.reg[in->index] << in->scale) + (u64)in->disp;
	if (unlikely(in->flags & EMU_I_SLOWEA))
		return emu_ea_slow(e, in, a);
	return a;
}

static inline u64 emu_load(const u8 *p, unsigned sz)
{
	switch (sz) {
	case 1: return *p;
	case 2: { u16 v; __builtin_memcpy(&v, p, 2); return v; }
	case 4: { u32 v; __builtin_memcpy(&v, p, 4); return v; }
	default: { u64 v; __builtin_memcpy(&v, p, 8); return v; }
	}
}

static inline void emu_store(u8 *p, unsigned sz, u64 v)
{
	switch (sz) {
	case 1: *p = (u8)v; break;
	case 2: { u16 x = (u16)v; __builtin_memcpy(p, &x, 2); break; }
	case 4: { u32 x = (u32)v; __builtin_memcpy(p, &x, 4); break; }
	default: __builtin_memcpy(p, &v, 8); break;
	}
}

/* Host pointer for [la, la+sz) into *p if the TLB (k: 0 read, 1 write,
 * 2 fetch) has it. A tag holds the page and the TLB epoch; it is compared
 * with the page of the last byte, so an access crossing a page never hits. */
static inline bool emu_tlb_get(struct emu *e, u64 la, unsigned sz, unsigned k, u8 **p)
{
	const struct emu_tlb_entry *t = k == 2 ? &e->itlb[(la >> 12) & (EMU_ITLB_SIZE - 1)]
					       : &e->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)][k];
	*p = (u8 *)(la + t->addend);
	return t->tag == (((la + sz - 1) & ~4095ull) | e->tlb_epoch[k]);
}

/* Host pointer for [la, la+sz) within one page, or NULL (use the slow path). */
static inline u8 *emu_tlb(struct emu *e, u64 la, unsigned sz, unsigned k)
{
	u8 *p;
	if (likely(emu_tlb_get(e, la, sz, k, &p)))
		return p;
	if (unlikely((la & 4095) + sz > 4096))
		return 0;
	return emu_tlb_fill(e, la, k);
}

static inline int emu_read(struct emu *e, u64 la, unsigned sz, u64 *v, bool ss)
{
	u8 *p = emu_tlb(e, la, sz, 0);
	if (p) {
		*v = emu_load(p, sz);
		return 0;
	}
	*v = 0;
	return emu_mem_slow(e, la, v, sz, EMU_ACC_READ, ss);
}

static inline int emu_write(struct emu *e, u64 la, unsigned sz, u64 v, bool ss)
{
	u8 *p = emu_tlb(e, la, sz, 1);
	if (p) {
		emu_store(p, sz, v);
		return 0;
	}
	return emu_mem_slow(e, la, &v, sz, EMU_ACC_WRITE, ss);
}

/* ---- ModRM operands ---- */
static inline unsigned emu_rmreg(const struct emu_insn *in, unsigned sz)
{
	return sz == 1 ? in->rm8 : in->rm;
}

static inline unsigned emu_regreg(const struct emu_insn *in, unsigned sz)
{
	return sz == 1 ? in->reg8 : in->reg;
}

/* Read the E operand; *la receives its linear address if it is memory. */
static inline __attribute__((always_inline)) int emu_rd_rm(struct emu *e, const struct emu_insn *in,
			    unsigned sz, u64 *v, u64 *la)
{
	if (in->flags & EMU_I_MEM) {
		*la = emu_ea(e, in);
		return emu_read(e, *la, sz, v, in->flags & EMU_I_SS);
	}
	*la = 0;
	*v = emu_rreg(e, emu_rmreg(in, sz), sz);
	return 0;
}

int emu_wr_mem_atomic(struct emu *e, u64 la, unsigned sz, u64 old, u64 v, bool ss);

/* Write the E operand. With atomic (LOCK, XCHG) and a host-mapped aligned
 * destination the store is a compare-and-swap against the value read, so a
 * concurrent change makes the instruction run again (EMU_RETRY). */
static inline __attribute__((always_inline)) int
emu_wr_rm(struct emu *e, const struct emu_insn *in, unsigned sz, u64 la, u64 old,
	  u64 v, bool atomic)
{
	if (!(in->flags & EMU_I_MEM)) {
		emu_wreg(e, emu_rmreg(in, sz), sz, v);
		return 0;
	}
	if (atomic)
		return emu_wr_mem_atomic(e, la, sz, old, v, in->flags & EMU_I_SS);
	return emu_write(e, la, sz, v, in->flags & EMU_I_SS);
}

/* RIP of the instruction after in (handlers run with cpu.rip = their trace's RIP). */
static inline u64 emu_next_rip(const struct emu *e, const struct emu_insn *in)
{
	return e->cpu.rip + in->off + in->len;
}

static inline unsigned emu_asz(const struct emu_insn *in)
{
	return (in->flags & EMU_I_A32) ? 4 : 8;
}

/* in retired: go on with the next decode of the trace (a tail call). */
static inline int emu_next(struct emu *e, const struct emu_insn *in)
{
	++in;
	__asm__("" : "+r"(in)); /* in is now opaque: gcc adds to it and jumps through it
				    (2 instructions) instead of keeping both pointers (4) */
	return in->fn(e, in);
}

/* A taken branch at in back to the start of its own trace (cpu.rip), e.g.
 * a loop, runs the trace again without a return to the run loop if emu.again
 * has room for all of it (in->idx + 1 instructions ran of this pass). For a
 * trace built as a loop (emu_trace.loop) the run loop sets emu.again to the
 * budget left after its charge for the first pass, but at most EMU_AGAIN
 * instructions (an unoptimised build nests the tail calls: 16 passes of the
 * longest trace), and takes what the passes used off the budget when the
 * trace returns; other traces run with emu.again 0 and pay nothing. */
#define EMU_AGAIN (16 * EMU_TRACE_INSNS)
static inline bool emu_may_again(const struct emu *e, const struct emu_insn *in, u64 target)
{
	return target == e->cpu.rip && e->again > in->idx;
}

static inline int emu_again(struct emu *e, const struct emu_insn *in)
{
	const struct emu_insn *first = in - in->idx;
	e->again -= in->idx + 1u;
	e->at = first;
	return first->fn(e, first);
}

/* st is 0 (in retired: go on) or a stop. */
static inline int emu_cont(struct emu *e, const struct emu_insn *in, int st)
{
	return st ? st : emu_next(e, in);
}

/* ---- SSE (sse.c, sse_tab.c) ---- */
/* emu_insn.op of the SSE handlers */
enum {
	SO_PADDB, SO_PADDW, SO_PADDD, SO_PADDQ, SO_PSUBB, SO_PSUBW, SO_PSUBD, SO_PSUBQ,
	SO_PADDSB, SO_PADDSW, SO_PADDUSB, SO_PADDUSW, SO_PSUBSB, SO_PSUBSW, SO_PSUBUSB, SO_PSUBUSW,
	SO_PAND, SO_PANDN, SO_POR, SO_PXOR,
	SO_PCMPEQB, SO_PCMPEQW, SO_PCMPEQD, SO_PCMPEQQ, SO_PCMPGTB, SO_PCMPGTW, SO_PCMPGTD, SO_PCMPGTQ,
	SO_PMINUB, SO_PMAXUB, SO_PMINSW, SO_PMAXSW, SO_PMINSB, SO_PMAXSB, SO_PMINUW, SO_PMAXUW,
	SO_PMINSD, SO_PMAXSD, SO_PMINUD, SO_PMAXUD,
	SO_PAVGB, SO_PAVGW, SO_PSADBW, SO_PMULLW, SO_PMULHW, SO_PMULHUW, SO_PMULUDQ, SO_PMADDWD,
	SO_PMULLD, SO_PMULDQ, SO_PMADDUBSW, SO_PMULHRSW,
	SO_PABSB, SO_PABSW, SO_PABSD, SO_PSIGNB, SO_PSIGNW, SO_PSIGND,
	SO_PHADDW, SO_PHADDD, SO_PHADDSW, SO_PHSUBW, SO_PHSUBD, SO_PHSUBSW, SO_PSHUFB,
	SO_PUNPCKLBW, SO_PUNPCKLWD, SO_PUNPCKLDQ, SO_PUNPCKLQDQ,
	SO_PUNPCKHBW, SO_PUNPCKHWD, SO_PUNPCKHDQ, SO_PUNPCKHQDQ,
	SO_PACKSSWB, SO_PACKUSWB, SO_PACKSSDW, SO_PACKUSDW,
	SO_PSRLW, SO_PSRLD, SO_PSRLQ, SO_PSLLW, SO_PSLLD, SO_PSLLQ, SO_PSRAW, SO_PSRAD,
	SO_PSRLDQ, SO_PSLLDQ,
	SO_PSHUFD, SO_PSHUFHW, SO_PSHUFLW, SO_SHUFPS, SO_SHUFPD, SO_PALIGNR,
	SO_PBLENDW, SO_BLENDPS, SO_BLENDPD, SO_PBLENDVB, SO_BLENDVPS, SO_BLENDVPD,
	SO_PMOVSXBW, SO_PMOVSXBD, SO_PMOVSXBQ, SO_PMOVSXWD, SO_PMOVSXWQ, SO_PMOVSXDQ,
	SO_PMOVZXBW, SO_PMOVZXBD, SO_PMOVZXBQ, SO_PMOVZXWD, SO_PMOVZXWQ, SO_PMOVZXDQ,
	SO_PHMINPOSUW, SO_MPSADBW, SO_INSERTPS, SO_PTEST,
	SO_MOV, SO_MOVSS, SO_MOVSD, SO_MOVQZ, SO_MOV12, SO_MOVHI, SO_MOVDDUP, SO_MOVSLDUP, SO_MOVSHDUP,
	/* emu_op_sse_st */
	SO_ST_16, SO_ST_SS, SO_ST_SD, SO_ST_Q, SO_ST_LO, SO_ST_HI,
	/* emu_op_x87 */
	SO_FWAIT, SO_FNINIT, SO_FNCLEX, SO_FNSTSW_AX, SO_FLDCW, SO_FNSTCW, SO_FNSTSW,
};

/* An entry of the mandatory-prefix tables (sse_tab.c). */
struct emu_sop {
	emu_fn fn;
	u8 op;   /* emu_insn.op, or the enum emu_exit of emu_op_hv */
	u8 sz;   /* memory operand bytes (emu_insn.imm2) */
	u8 feat; /* EMU_F_* */
	u8 fl;   /* EMU_S_* */
};
#define EMU_S_ALIGN 0x01 /* 16-byte memory operand must be aligned */
#define EMU_S_IMM 0x02   /* imm8 follows */
#define EMU_S_REG 0x04   /* register form only (memory: #UD) */
#define EMU_S_MEM 0x08   /* memory form only */
#define EMU_S_W 0x10     /* GPR operand: 32 bits, 64 with REX.W */
const struct emu_sop *emu_sse_op(unsigned map, unsigned opc, unsigned pfx, unsigned modrm);
int emu_read_n(struct emu *e, u64 la, void *buf, unsigned n, bool ss);
int emu_write_n(struct emu *e, u64 la, const void *buf, unsigned n, bool ss);

/* ---- handlers shared between decode.c and the exec files ---- */
#define EMU_H(name) int name(struct emu *e, const struct emu_insn *in)
/* The generic handlers are never inlined: the specialised ones fall back to
 * them with a tail jump and so need no stack frame of their own. */
#define EMU_HD(name) __attribute__((noinline)) EMU_H(name)
/* Defines a generic handler: it records its decode in emu.at on entry, so a
 * stop, branch or code write finds the instruction (the specialised handlers
 * never stop: a miss tail-calls the generic one; those that branch set emu.at
 * themselves). */
#define EMU_G(name)                                                                           \
	static inline __attribute__((always_inline)) int name##_(struct emu *e, const struct emu_insn *in); \
	EMU_H(name)                                                                           \
	{                                                                                     \
		e->at = in;                                                                   \
		return name##_(e, in);                                                        \
	}                                                                                     \
	static inline __attribute__((always_inline)) int name##_(struct emu *e, const struct emu_insn *in)
EMU_HD(emu_op_ud); EMU_HD(emu_op_resync); EMU_HD(emu_op_end); EMU_HD(emu_op_toolong); EMU_HD(emu_op_unsupported); EMU_HD(emu_op_hv); EMU_HD(emu_op_nop); EMU_HD(emu_op_fence);
EMU_HD(emu_op_alu_rm_r); EMU_HD(emu_op_alu_r_rm); EMU_HD(emu_op_alu_rm_imm);
EMU_HD(emu_op_test_rm_r); EMU_HD(emu_op_test_rm_imm); EMU_HD(emu_op_incdec);
EMU_HD(emu_op_not); EMU_HD(emu_op_neg); EMU_HD(emu_op_mul1); EMU_HD(emu_op_imul1);
EMU_HD(emu_op_div); EMU_HD(emu_op_idiv); EMU_HD(emu_op_imul_r_rm);
EMU_HD(emu_op_imul_r_rm_imm); EMU_HD(emu_op_shift); EMU_HD(emu_op_shd);
EMU_HD(emu_op_bt); EMU_HD(emu_op_bt_imm);
EMU_HD(emu_op_tzcnt_bsf); EMU_HD(emu_op_lzcnt_bsr); EMU_HD(emu_op_popcnt);
EMU_HD(emu_op_setcc); EMU_HD(emu_op_cmovcc); EMU_HD(emu_op_xadd);
EMU_HD(emu_op_cmpxchg); EMU_HD(emu_op_cmpxchg8b); EMU_HD(emu_op_bswap);
EMU_HD(emu_op_cbw); EMU_HD(emu_op_cwd); EMU_HD(emu_op_flagop); EMU_HD(emu_op_lahf);
EMU_HD(emu_op_sahf);
EMU_HD(emu_op_mov_rm_r); EMU_HD(emu_op_mov_r_rm); EMU_HD(emu_op_mov_rm_imm);
EMU_HD(emu_op_mov_r_imm); EMU_HD(emu_op_mov_moffs); EMU_HD(emu_op_movzx);
EMU_HD(emu_op_movsx); EMU_HD(emu_op_lea); EMU_HD(emu_op_xchg);
EMU_HD(emu_op_xchg_ax); EMU_HD(emu_op_push_r); EMU_HD(emu_op_pop_r);
EMU_HD(emu_op_push_imm); EMU_HD(emu_op_push_rm); EMU_HD(emu_op_pop_rm);
EMU_HD(emu_op_pushf); EMU_HD(emu_op_popf); EMU_HD(emu_op_enter);
EMU_HD(emu_op_leave); EMU_HD(emu_op_jcc); EMU_HD(emu_op_jmp); EMU_HD(emu_op_call);
EMU_HD(emu_op_ret); EMU_HD(emu_op_jmp_rm); EMU_HD(emu_op_call_rm);
EMU_HD(emu_op_loop); EMU_HD(emu_op_jrcxz); EMU_HD(emu_op_xlat);
EMU_HD(emu_op_movs); EMU_HD(emu_op_stos); EMU_HD(emu_op_lods); EMU_HD(emu_op_cmps);
EMU_HD(emu_op_scas);
EMU_HD(emu_op_sse); EMU_HD(emu_op_sse_shi); EMU_HD(emu_op_sse_st); EMU_HD(emu_op_movd_x); EMU_HD(emu_op_movd_r);
EMU_HD(emu_op_pextr); EMU_HD(emu_op_pinsr); EMU_HD(emu_op_movmsk); EMU_HD(emu_op_maskmov); EMU_HD(emu_op_mxcsr);
EMU_HD(emu_op_x87);
EMU_HD(emu_op_movbe); EMU_HD(emu_op_crc32); EMU_HD(emu_op_adx); EMU_HD(emu_op_fsgs); EMU_HD(emu_op_clflush);
EMU_HD(emu_op_bmi);

int emu_decode(const struct emu *e, struct emu_insn *in, const u8 *p, unsigned avail, u64 rip);
emu_fn emu_alu_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_shift_fast(unsigned op, unsigned osz);
emu_fn emu_jcc_fast(unsigned cc);
emu_fn emu_cmov_fast(unsigned cc, unsigned osz);
emu_fn emu_test_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_mov_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_setcc_fast(const struct emu_insn *in);
emu_fn emu_imul_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_jmp_fast(const struct emu_insn *in);
emu_fn emu_stack_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_ctl_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_ldst_fast(bool load, const struct emu_insn *in);
emu_fn emu_unary_fast(emu_fn fn, const struct emu_insn *in);
emu_fn emu_nf(emu_fn fn, const struct emu_insn *in);
void emu_fuse(struct emu_insn *in, unsigned n);

#endif
