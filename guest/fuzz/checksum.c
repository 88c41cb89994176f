/* checksum.c: target "checksum": a path gated by a chain of checksum-like comparisons, each on
 * its own branch; past the last one a NULL-page write (#PF). */
#include "fuzz.h"

int fuzz_target_checksum(const u8 *data, u64 size)
{
	if (size < 8)
		return 0;
	if ((u8)(data[0] + data[1]) != 0x42)
		return 1;
	if ((u8)(data[2] ^ data[1]) != 0x17)
		return 2;
	if ((u8)(data[3] - data[2]) != 0x05)
		return 3;
	if (data[4] != (u8)(data[0] + data[1] + data[2] + data[3]))
		return 4;
	*(volatile u8 *)(u64)data[5] = 1; /* page 0: #PF */
	return 5;
}
