/* tsc.c: the TSC's frequency, measured once against the PIT (channel 2, gated by port 0x61,
 * one-shot for 10 ms: the PIT counts at 1.193182 MHz on every PC; Bochs and QEMU emulate it in
 * the same time base as their TSC). Used to turn seconds into TSC cycles (the watchdog). */
#include "defs.h"
#include "x86.h"

#define PIT_HZ 1193182UL
#define PIT_TICKS (PIT_HZ / 100) /* 10 ms */

static u64 hz;

u64 tsc_hz(void)
{
	if (hz)
		return hz;
	u8 gate = inb(0x61);
	outb(0x61, (gate & ~0x02) | 0x01); /* speaker off, gate channel 2 on */
	outb(0x43, 0xb0);                  /* channel 2, lobyte/hibyte, mode 0 (one-shot) */
	outb(0x42, PIT_TICKS & 0xff);
	outb(0x42, PIT_TICKS >> 8);
	u64 t0 = rdtsc(), t1 = t0;
	/* OUT2 (port 0x61 bit 5) rises when the count reaches 0; bounded in case there is no PIT */
	for (u64 i = 0; i < 100000000 && !(inb(0x61) & 0x20); i++)
		t1 = rdtsc();
	outb(0x61, gate);
	hz = (t1 - t0) * 100;
	if (hz < 1000000) /* no PIT, or a broken one: assume 1 GHz rather than divide by nothing */
		hz = 1000000000UL;
	return hz;
}
