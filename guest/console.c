/* console.c: guest output on COM1 and printf on it (the engine is kernel/format.c, shared with
 * the hypervisor, as are the string functions of kernel/string.c). Only writes to port 0x3f8:
 * no UART setup, no status polling, no port 0xE9, because the hypervisor traps the port,
 * forwards each line with a "[guest]" prefix, and counts every other port "io" checks. */
#include "guest.h"

#define COM1 0x3f8

void guest_putc(char c) { outb(COM1, (u8)c); }

int guest_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = format_out(guest_putc, fmt, ap);
	va_end(ap);
	return n;
}
