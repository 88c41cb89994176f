/* crash.c: target "crash": data[0] picks one crash class (tests/test_fuzz.c checks each is
 * recognised and that the fuzzer goes on): 0 #DE, 1 #UD, 2 #GP, 3 #PF, 4 #SS, 5 an access
 * outside guest RAM, 6 the panic hypercall, 7 an endless loop (the time limit), 8 RDRAND and
 * RDTSC values as the status; anything else returns 0. */
#include "fuzz.h"

#define NONCANONICAL 0x8000000000000000UL
#define OUTSIDE_RAM (1UL << 30) /* 1 GiB: above any test VM's RAM */

static u64 rdrand64(void)
{
	u64 v;
	__asm__ volatile("1: rdrand %0; jnc 1b" : "=r"(v)::"cc");
	return v;
}

int fuzz_target_crash(const u8 *data, u64 size)
{
	volatile u64 zero = 0, *p;
	switch (size ? data[0] : 255) {
	case 0:
		return 10 / zero;
	case 1:
		__asm__ volatile("ud2");
		return 0;
	case 2:
		p = (volatile u64 *)(NONCANONICAL + zero);
		return *p;
	case 3:
		p = (volatile u64 *)(8 + zero); /* page 0 is never mapped */
		return *p;
	case 4: {
		u64 v;
		__asm__ volatile("push %%rbp; mov %1, %%rbp; mov (%%rbp), %0; pop %%rbp" : "=r"(v) : "r"(NONCANONICAL + zero));
		return v;
	}
	case 5:
		guest_map_2m(OUTSIDE_RAM);
		p = (volatile u64 *)(OUTSIDE_RAM + zero);
		return *p;
	case 6:
		fuzz_panic(0x66);
		return 0;
	case 7:
		for (;;)
			zero++;
	case 8:
		return (int)(rdrand64() ^ rdtsc());
	default:
		return 0;
	}
}
