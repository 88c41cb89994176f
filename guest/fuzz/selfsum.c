/* selfsum.c: target "selfsum" (for the tests): it reads code. Its status is a checksum of the
 * first bytes of fuzz_target_tlv and of its own, code that carries coverage breakpoints on its
 * blocks: the same with coverage as without when the hypervisor hides its INT3s from the
 * guest's reads (vmm/cover.c). The input is not used. */
#include "fuzz.h"

#define SPAN 256 /* bytes of each function */

static u32 code_sum(const volatile u8 *p, u64 n)
{
	u32 s = 0;
	for (u64 i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

int fuzz_target_selfsum(const u8 *data, u64 size)
{
	(void)data, (void)size;
	u32 s = code_sum((const volatile u8 *)fuzz_target_tlv, SPAN) ^ code_sum((const volatile u8 *)fuzz_target_selfsum, SPAN);
	return (int)(s & 0x7fffffff);
}
