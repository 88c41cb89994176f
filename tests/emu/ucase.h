/* ucase.h - shared definition of the CPU-recorded unit cases: the initial
 * state of case `seed` is a fixed formula (so the table only stores the
 * instruction, the seed and the expected changes), used both when the
 * cases are recorded on the host (difftest -u) and when they are checked
 * (unit). Memory: the 16 KiB sandbox at SANDBOX_BASE with a byte pattern. */
#ifndef HVLAB_TESTS_EMU_UCASE_H
#define HVLAB_TESTS_EMU_UCASE_H

#include <stdint.h>

#include "gen.h"

struct ucase {
	const char *name;  /* AT&T syntax, as assembled */
	const char *code;  /* instruction bytes */
	uint8_t len;
	uint16_t seed;     /* initial state, see ucase_reg() */
	uint32_t fout;     /* expected arithmetic flags + DF */
	uint32_t fmask;    /* flags compared (SDM-defined ones) */
	int8_t vec;        /* expected fault vector, -1 none */
	uint64_t rip;      /* expected RIP (0: end of the instruction) */
	struct { int8_t r; uint64_t v; } out[17]; /* changed GPRs, r+1, 0 ends */
	const char *mem;   /* changed bytes: "offset:hex;..." from SANDBOX_BASE */
	const char *xmm;   /* changed XMM registers: "n:32 hex digits (bytes 0..15);..." */
};

static inline uint64_t ucase_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t ucase_reg(unsigned seed, int r)
{
	uint64_t x = ucase_mix(seed * 16ull + (unsigned)r);
	switch (r) {
	case 4: return SANDBOX_BASE + 0x3800;  /* RSP */
	case 5: return SANDBOX_BASE + 0x3900;  /* RBP */
	case 6: return SANDBOX_BASE + 0x1010;  /* RSI */
	case 7: return SANDBOX_BASE + 0x1030;  /* RDI */
	case 14: return SANDBOX_BASE + 0x1000; /* R14: data base */
	case 1: return seed % 5;               /* RCX: small counts */
	}
	switch (seed % 4) {
	case 0: return x;
	case 1: return r == 2 ? 0 : x & 0xff;
	case 2: return (x & 1) ? ~0ull >> (x % 64) : 1ull << (x % 64);
	default: return x >> (x & 63);
	}
}

/* XMM register x, half h (0 low, 1 high): edges and random lanes. */
static inline uint64_t ucase_xmm(unsigned seed, int x, int h)
{
	uint64_t v = ucase_mix(seed * 64ull + 32 + (unsigned)x * 2 + (unsigned)h);
	switch ((seed + (unsigned)x) % 4) {
	case 0: return v;
	case 1: return v & 0x8080808080808080ull ? v ^ 0x00ff00ff00ff00ffull : v;
	case 2: return (v & 1) ? 0x7fff80007fff8000ull : 0xffffffff00000001ull;
	default: return v & 0x00000000ffffffffull;
	}
}

static inline uint64_t ucase_flags(unsigned seed)
{
	return 0x202 | (ucase_mix(~(uint64_t)seed) & 0x8d5);
}

/* Sandbox byte k; the 32 bytes at RSP hold canonical, unmapped addresses
 * so that RET and POP-then-jump leave the region without running junk. */
static inline uint8_t ucase_mem(unsigned seed, unsigned k)
{
	if (k >= 0x3800 && k < 0x3820)
		return (uint8_t)(((0x50000000ull + (k - 0x3800) / 8 * 0x1000) >> (8 * (k % 8))) & 0xff);
	return (uint8_t)(ucase_mix(seed + (k >> 3) * 1000003ull) >> (8 * (k & 7)));
}

#endif
