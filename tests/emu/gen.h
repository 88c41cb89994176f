/* gen.h - random instruction-sequence generator for the differential test.
 * Memory operands are formed only from "protected" registers (RSP, RBP,
 * RSI, RDI, R13 small index, R14 data base) that generated instructions
 * never overwrite, so every access lands in the sandbox. The generator
 * tracks which arithmetic flags are undefined (SDM) at each point and never
 * emits an instruction that reads one; the final compare masks them. */
#ifndef HVLAB_TESTS_EMU_GEN_H
#define HVLAB_TESTS_EMU_GEN_H

#include <stdint.h>

#define SANDBOX_BASE 0x10000000ull /* 4 data/stack pages, guarded */
#define SANDBOX_SIZE 0x4000ull
#define CODE_BASE 0x20000000ull /* generated code page(s) */
#define CODE_SIZE 0x2000ull
#define GS_BASE_VAL 0x300ull
#define MAX_INSNS 64

struct gen_seq {
	uint8_t code[2048];
	unsigned len;              /* bytes of test code */
	unsigned n;                /* instructions */
	unsigned off[MAX_INSNS + 1]; /* start offsets */
	uint32_t undef[MAX_INSNS + 1]; /* undefined flags before insn i (and at end) */
	uint64_t gpr[16];          /* initial registers */
	uint64_t xmm[16][2];       /* initial XMM0-15 (low, high) */
	uint64_t rflags;           /* initial RFLAGS */
	int tf;                    /* run with RFLAGS.TF: compare every single-step trap */
};

/* Build sequence number idx of stream seed. */
void gen_sequence(struct gen_seq *s, uint64_t seed, uint64_t idx);
uint64_t gen_rand(uint64_t *st);

#endif
