/* emu_internal.h - shared helpers of the interpreter: register access, lazy
 * flags, memory fast paths and the handler prototypes of the opcode tables.
 * Lazy flags keep the sign-extended result (ZF, SF, PF) and an aux word with
 * CF, CF^OF, AF and SF/PF correction bits; RFLAGS is only built when read.
 * Not a public interface: only the emulator sources include it. */
#ifndef HVLAB_EMU_INTERNAL_H
#define HVLAB_EMU_INTERNAL_H

#include "emu.h"

#define EMU_NOREG 16
#define EMU_RIPREL 17

/* emu_insn.flags */
#define EMU_I_MEM 0x0001    /* ModRM names memory */
#define EMU_I_REX 0x0002    /* a REX prefix was present */
#define EMU_I_LOCK 0x0004   /* F0 */
#define EMU_I_REP 0x0008    /* F3 */
#define EMU_I_REPNE 0x0010  /* F2 */
#define EMU_I_FS 0x0020     /* FS override */
#define EMU_I_GS 0x0040     /* GS override */
#define EMU_I_SS 0x0080     /* memory operand defaults to SS (base RSP/RBP) */
#define EMU_I_REXW 0x0100   /* REX.W */
#define EMU_I_OSZ 0x0200    /* 66 prefix */

#define EMU_STOP 1 /* handler return value: stop the run (e->res filled) */
#define EMU_RETRY 2 /* handler return value: LOCK CAS lost, execute again */

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
	if (sz == 1 && (r & 0x10))
		return (e->cpu.gpr[r & 3] >> 8) & 0xff;
	return e->cpu.gpr[r & 15] & emu_mask(sz);
}

static inline void emu_wreg(struct emu *e, unsigned r, unsigned sz, u64 v)
{
	u64 *g = &e->cpu.gpr[r & 15];
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

/* ---- lazy flags (SDM "Status Flags") ---- */
static inline unsigned emu_parity(u64 v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

static inline void emu_lf_add(struct emu *e, u64 a, u64 b, u64 r, unsigned sz)
{
	u64 cv = (a & b) | ((a | b) & ~r);
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_aux = ((cv << (64 - sz * 8)) & (3ull << 62)) | ((cv >> 3) & 1);
}

static inline void emu_lf_sub(struct emu *e, u64 a, u64 b, u64 r, unsigned sz)
{
	u64 bv = (~a & b) | ((~a | b) & r);
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_aux = ((bv << (64 - sz * 8)) & (3ull << 62)) | ((bv >> 3) & 1);
}

static inline void emu_lf_logic(struct emu *e, u64 r, unsigned sz)
{
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_aux = 0;
}

/* SF/ZF/PF from r, CF/OF/AF given explicitly. */
static inline void emu_lf_res(struct emu *e, u64 r, unsigned sz, unsigned cf,
			      unsigned of, unsigned af)
{
	e->cpu.lf_res = emu_sx(r, sz);
	e->cpu.lf_aux = ((u64)cf << 63) | ((u64)(cf ^ of) << 62) | af;
}

static inline unsigned emu_cf(const struct emu *e) { return e->cpu.lf_aux >> 63; }
static inline unsigned emu_of(const struct emu *e)
{
	return (e->cpu.lf_aux ^ (e->cpu.lf_aux << 1)) >> 63;
}
static inline unsigned emu_zf(const struct emu *e) { return e->cpu.lf_res == 0; }
static inline unsigned emu_sf(const struct emu *e)
{
	return ((e->cpu.lf_res >> 63) ^ (e->cpu.lf_aux >> 1)) & 1;
}
static inline unsigned emu_pf(const struct emu *e)
{
	return emu_parity(e->cpu.lf_res) ^ ((e->cpu.lf_aux >> 2) & 1);
}
static inline unsigned emu_af(const struct emu *e) { return e->cpu.lf_aux & 1; }

u64 emu_arith_flags(const struct emu *e);
void emu_set_arith_flags(struct emu *e, u64 f);
/* Condition codes 0..15 (SDM "EFLAGS Condition Codes"). */
static inline bool emu_cond(const struct emu *e, unsigned cc)
{
	unsigned r;
	switch (cc >> 1) {
	case 0: r = emu_of(e); break;
	case 1: r = emu_cf(e); break;
	case 2: r = emu_zf(e); break;
	case 3: r = emu_cf(e) | emu_zf(e); break;
	case 4: r = emu_sf(e); break;
	case 5: r = emu_pf(e); break;
	case 6: r = emu_sf(e) ^ emu_of(e); break;
	default: r = emu_zf(e) | (emu_sf(e) ^ emu_of(e)); break;
	}
	return r ^ (cc & 1);
}

_Static_assert(sizeof(struct emu_insn) == 64, "one cache line per decoded instruction");

/* New decode-cache generation; on wrap-around every slot is invalidated so
 * that an old generation number can never match again. */
static inline void emu_bump_gen(struct emu *e)
{
	if (++e->gen == 0) {
		for (unsigned i = 0; i < EMU_ICACHE_SIZE; i++)
			e->icache[i].gen = 0;
		e->gen = 1;
	}
}

/* ---- memory (mem.c) ---- */
int emu_mem_slow(struct emu *e, u64 la, void *buf, u32 size, u32 kind, bool ss);
u8 *emu_tlb_fill(struct emu *e, u64 la, u32 kind);
int emu_raise(struct emu *e, u8 vector, bool has_error, u32 error_code);
int emu_fetch(struct emu *e, const struct emu_insn **out);
bool emu_cas(u8 *p, unsigned sz, u64 old, u64 v);

/* Effective address of the ModRM memory operand (SDM "Specifying an Offset"), without
 * the segment base (LEA), and the linear address with FS/GS base added. */
static inline u64 emu_ea_off(const struct emu *e, const struct emu_insn *in)
{
	u64 a = (u64)(i64)in->disp;
	if (in->base < EMU_NOREG)
		a += e->cpu.gpr[in->base];
	else if (in->base == EMU_RIPREL)
		a += e->next_rip;
	if (in->index < EMU_NOREG)
		a += e->cpu.gpr[in->index] << in->scale;
	if (in->asz == 4)
		a = (u32)a;
	return a;
}

static inline u64 emu_seg(const struct emu *e, const struct emu_insn *in)
{
	if (!(in->flags & (EMU_I_FS | EMU_I_GS)))
		return 0;
	return (in->flags & EMU_I_FS) ? e->cpu.fs_base : e->cpu.gs_base;
}

static inline u64 emu_ea(const struct emu *e, const struct emu_insn *in)
{
	return emu_ea_off(e, in) + emu_seg(e, in);
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

/* Host pointer for [la, la+sz) within one page, or NULL (use slow path). */
static inline u8 *emu_tlb(struct emu *e, u64 la, unsigned sz, unsigned k)
{
	struct emu_tlb_entry *t = &e->tlb[k][(la >> 12) & (EMU_TLB_SIZE - 1)];
	if ((la & 4095) + sz > 4096)
		return 0;
	if (t->tag == (la & ~4095ull))
		return t->host + (la & 4095);
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

/* ---- handlers shared between decode.c and the exec files ---- */
#define EMU_H(name) int name(struct emu *e, const struct emu_insn *in)
EMU_H(emu_op_ud); EMU_H(emu_op_toolong); EMU_H(emu_op_unsupported); EMU_H(emu_op_hv); EMU_H(emu_op_nop); EMU_H(emu_op_load_q); EMU_H(emu_op_load_d);
EMU_H(emu_op_store_q); EMU_H(emu_op_store_d); EMU_H(emu_op_fence);
EMU_H(emu_op_alu_rm_r); EMU_H(emu_op_alu_rr); EMU_H(emu_op_mov_rr); EMU_H(emu_op_alu_r_rm); EMU_H(emu_op_alu_rm_imm);
EMU_H(emu_op_test_rm_r); EMU_H(emu_op_test_rm_imm); EMU_H(emu_op_incdec);
EMU_H(emu_op_not); EMU_H(emu_op_neg); EMU_H(emu_op_mul1); EMU_H(emu_op_imul1);
EMU_H(emu_op_div); EMU_H(emu_op_idiv); EMU_H(emu_op_imul_r_rm);
EMU_H(emu_op_imul_r_rm_imm); EMU_H(emu_op_shift); EMU_H(emu_op_shd);
EMU_H(emu_op_bt); EMU_H(emu_op_bt_imm); EMU_H(emu_op_bsf); EMU_H(emu_op_bsr);
EMU_H(emu_op_tzcnt_bsf); EMU_H(emu_op_lzcnt_bsr); EMU_H(emu_op_popcnt);
EMU_H(emu_op_setcc); EMU_H(emu_op_cmovcc); EMU_H(emu_op_xadd);
EMU_H(emu_op_cmpxchg); EMU_H(emu_op_cmpxchg8b); EMU_H(emu_op_bswap);
EMU_H(emu_op_cbw); EMU_H(emu_op_cwd); EMU_H(emu_op_flagop); EMU_H(emu_op_lahf);
EMU_H(emu_op_sahf);
EMU_H(emu_op_mov_rm_r); EMU_H(emu_op_mov_r_rm); EMU_H(emu_op_mov_rm_imm);
EMU_H(emu_op_mov_r_imm); EMU_H(emu_op_mov_moffs); EMU_H(emu_op_movzx);
EMU_H(emu_op_movsx); EMU_H(emu_op_lea); EMU_H(emu_op_xchg);
EMU_H(emu_op_xchg_ax); EMU_H(emu_op_push_r); EMU_H(emu_op_pop_r);
EMU_H(emu_op_push_imm); EMU_H(emu_op_push_rm); EMU_H(emu_op_pop_rm);
EMU_H(emu_op_pushf); EMU_H(emu_op_popf); EMU_H(emu_op_enter);
EMU_H(emu_op_leave); EMU_H(emu_op_jcc); EMU_H(emu_op_jmp); EMU_H(emu_op_call);
EMU_H(emu_op_ret); EMU_H(emu_op_jmp_rm); EMU_H(emu_op_call_rm);
EMU_H(emu_op_loop); EMU_H(emu_op_jrcxz); EMU_H(emu_op_xlat);
EMU_H(emu_op_movs); EMU_H(emu_op_stos); EMU_H(emu_op_lods); EMU_H(emu_op_cmps);
EMU_H(emu_op_scas);

int emu_decode(struct emu_insn *in, const u8 *p, unsigned avail);
emu_fn emu_alu_fast(emu_fn fn, unsigned op, unsigned osz);
emu_fn emu_shift_fast(unsigned op, unsigned osz);
emu_fn emu_alu_mem_fast(emu_fn fn, unsigned op, unsigned osz);

#endif
