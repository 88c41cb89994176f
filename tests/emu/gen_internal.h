/* gen_internal.h - helpers shared by the two halves of the sequence
 * generator (gen.c: encoder and arithmetic families; gen_ops.c: stack,
 * flags, moves, strings and the family table). */
#ifndef HVLAB_TESTS_EMU_GEN_INTERNAL_H
#define HVLAB_TESTS_EMU_GEN_INTERNAL_H

#include "gen.h"

typedef uint8_t u8;
typedef uint64_t u64;

enum { CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800 };
#define ALLF (CF | PF | AF | ZF | SF | OF)

static const int wregs[] = {0, 1, 2, 3, 8, 9, 10, 11, 12, 15};

struct op {
	int mem, reg;              /* reg: 0-15, or 16+n for AH..BH */
	int base, index, scale, dsz, rip, a32, seg;
	int32_t disp;
	u64 target;                /* rip-relative target */
};

struct g {
	struct gen_seq *s;
	u64 rng;
	uint32_t undef;
	unsigned item;
	uint32_t pend[MAX_INSNS * 4];
	unsigned item_insn[MAX_INSNS * 4];
	unsigned nfix;
	struct { unsigned at, item; int size; } fix[MAX_INSNS];
	int rip_at, no_stack_mem;  /* pending rip-relative patch; call body */
	u64 rip_target;
	unsigned vex;              /* next gen_enc: VEX 1 + (map | pp << 5 | L << 7 | vvvv << 8 | W << 12) */
};


unsigned gen_rnd(struct g *g, unsigned n);
int gen_coin(struct g *g, unsigned pct);
void gen_b(struct g *g, u8 v);
void gen_le(struct g *g, u64 v, int n);
u64 gen_val(struct g *g);
void gen_begin(struct g *g);
void gen_item_begin(struct g *g);
void gen_fl(struct g *g, uint32_t def, uint32_t und);
int gen_wreg(struct g *g);
int gen_reg_for(struct g *g, int sz, int writable);
void gen_mem_op(struct g *g, struct op *o, int allow_rip);
void gen_reg_op(struct g *g, struct op *o, int sz, int writable);
void gen_rm_op(struct g *g, struct op *o, int sz, int writable, int mem_pct);
int gen_hi8(int r);
void gen_enc(struct g *g, int sz, const u8 *opc, int nopc, int regf, struct op *o,
		int immsz, u64 imm, int pfx, int rexw_forbid);
int gen_rsize(struct g *g);
void gen_need(struct g *g, uint32_t reads);
uint32_t gen_cc_reads(unsigned cc);
int gen_immsz_for(int sz);
void gen_g_alu(struct g *g);
void gen_set_cl(struct g *g, unsigned n);
void g_test(struct g *g);
void g_unary(struct g *g);
void g_imul(struct g *g);
void g_shift(struct g *g);
void g_shd(struct g *g);
void g_bt(struct g *g);
void g_bitscan(struct g *g);
void g_cc(struct g *g);
void g_jump(struct g *g);
void g_call(struct g *g);
void g_sse(struct g *g);
void g_ssemov(struct g *g);
void g_ext(struct g *g);

#endif
