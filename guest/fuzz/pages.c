/* pages.c: target "pages" writes exactly data[0] % 65 pages of its own array (one byte each, at
 * offsets the input picks), and nothing else but its stack: the dirty-page tests count them.
 * data[0] = 255: BIG_PAGES pages of free RAM at 16 MiB instead (more than page-modification
 * logging's 512 entries: the log fills). */
#include "fuzz.h"

#define PAGES 64
static u8 area[PAGES][4096] __attribute__((aligned(4096)));

#define BIG_PAGES 600
#define BIG_AREA (16UL << 20) /* free in a fuzzing VM's 32 MiB: identity-mapped, writable */

int fuzz_target_pages(const u8 *data, u64 size)
{
	if (size == 0)
		return 0;
	if (data[0] == 255) {
		for (u64 i = 0; i < BIG_PAGES; i++)
			((volatile u8 *)BIG_AREA)[i * 4096 + i % 4096] += 1;
		return 0;
	}
	u64 k = data[0] % (PAGES + 1);
	for (u64 i = 0; i < k; i++) {
		u64 first = (u64)data[1 + i % (size - 1 ? size - 1 : 1) % size] * 16;
		area[i][first % 4096] += 1 + (u8)i;
		area[i][(first * 7 + i) % 4096] ^= (u8)size;
	}
	return 0;
}
