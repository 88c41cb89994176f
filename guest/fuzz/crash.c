/* crash.c: target "crash": data[0] picks one crash class (tests/test_fuzz.c checks each is
 * recognised and that the fuzzer goes on): 0 #DE, 1 #UD, 2 #GP, 3 #PF, 4 #SS, 5 an access
 * outside guest RAM, 6 the panic hypercall, 7 an endless loop (the time limit), 8 RDRAND and
 * RDTSC values as the status, 9 #DF (INT to a not-present gate while #NP's own gate is not
 * present: a contributory exception while delivering one, SDM "Interrupt 8—Double Fault
 * Exception"), 10 #AC (a misaligned load at CPL 3 with CR0.AM and RFLAGS.AC set); anything else
 * returns 0. */
#include "fuzz.h"

#define NONCANONICAL 0x8000000000000000UL
#define OUTSIDE_RAM (1UL << 30) /* 1 GiB: above any test VM's RAM */

static u8 user_buf[16] GUEST_USER_DATA;

static GUEST_USER_TEXT u64 user_misaligned(void *arg)
{
	u64 v;
	__asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq; movl 1(%1), %k0" : "=r"(v) : "r"(arg) : "memory", "cc");
	return v;
}

/* #DF: gate 11 (#NP) made not present, then INT 0x22 through a not-present gate: #NP, whose
 * delivery raises #NP again. */
static void double_fault(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	u8 *gate11 = (u8 *)(idtr.base + 11 * 16), *gate22 = (u8 *)(idtr.base + 0x22 * 16);
	memcpy(gate22, gate11, 16); /* a valid 64-bit gate type (a zero one is a #GP) */
	gate11[5] &= 0x7f;          /* P = 0 */
	gate22[5] &= 0x7f;
	__asm__ volatile("int $0x22");
}

/* #AC: CR0.AM on (the snapshot's CR0 comes back after the iteration), the load at CPL 3. */
static u64 alignment_check(void)
{
	u64 cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | BIT(18)));
	return guest_user_call(user_misaligned, user_buf, guest_user_stack_top);
}

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
	case 9:
		double_fault();
		return 0;
	case 10:
		return alignment_check();
	default:
		return 0;
	}
}
