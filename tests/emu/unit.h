/* unit.h - tiny test framework for the emulator unit tests: a sandboxed
 * memory with per-page permissions and an access log, and check macros
 * that count passed/failed cases. */
#ifndef HVLAB_TESTS_EMU_UNIT_H
#define HVLAB_TESTS_EMU_UNIT_H

#include <stdio.h>

#include "../../emulator/emu.h"

#define UMEM_BASE 0x10000000ull
#define UMEM_PAGES 8
#define UCODE_PAGE 0x20000000ull
#define UALIAS_PAGE 0x30000000ull /* a second linear mapping of code page 0 */
#define UBELL_PAGE 0x38000000ull  /* a read of it makes map_page patch code (bell) */

/* per-page permissions: bit 0 read, 1 write, 2 fetch, 3 user allowed */
struct umem {
	u8 data[UMEM_PAGES][4096];
	u8 code[2][4096];
	u8 perm[UMEM_PAGES], code_perm[2], alias_perm;
	struct emu *bell_emu;  /* map_page(UBELL_PAGE) stores bell_byte at code[0][bell_at] */
	unsigned bell_at;
	u8 bell_byte;
	bool bell_tell;        /* ... and calls emu_code_written() */
	bool no_map;           /* force the callback slow path */
	bool alias_write;      /* map_page(write) of data page 0 -> alias[] */
	u8 alias[4096];
	u32 kinds_seen;        /* OR of access kinds passed to callbacks */
	unsigned accesses;
};

extern struct umem um;
extern const struct emu_mem_ops umem_ops;
extern unsigned n_pass, n_fail;

void umem_reset(void);
void uemu_init(struct emu *e, u8 cpl);
/* Place bytes at UCODE_PAGE + off, return that address. */
u64 ucode(unsigned off, const char *bytes, unsigned len);
/* Run `bytes` at UCODE_PAGE + 0x100 with RSP/RBX/RSI/RDI in data memory. */
struct emu_result urun(struct emu *e, u8 cpl, const char *bytes, unsigned len, u64 budget);

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			n_pass++;                                            \
		} else {                                                     \
			n_fail++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

void run_ucases(void);
void run_handwritten(void);
void run_state_cases(void);
void run_edge_cases(void);

#endif
