/* power.c: end the machine with a status. QEMU's isa-debug-exit device (port 0xf4) exits with
 * (status << 1) | 1; under Bochs that port does nothing, so we then try Bochs's "Shutdown" port
 * 0x8900 and ACPI soft-off on the PIIX4 PM block (Bochs 0xb004, QEMU 0x604). Bochs's exit
 * status is always 1: the runner reads the final "# result:" line instead. */
#include "defs.h"
#include "x86.h"

void machine_exit(u8 status)
{
	__asm__ volatile("cli");
	/* Let COM1 drain (line status bit 6, transmitter empty) so no output is lost. */
	for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x40); i++)
		;
	cov_final(status); /* COVERAGE=1 only: the counters, on their own channel */
	outl(0xf4, status);
	for (const char *s = "Shutdown"; *s; s++)
		outb(0x8900, (u8)*s);
	outw(0xb004, 0x2000);
	outw(0x604, 0x2000);
	cpu_halt_forever();
}
