/* panic.c: an unrecoverable hypervisor error. It ends the run with ERROR (the harness or the
 * hypervisor is broken, not the code under test), never hangs. */
#include "defs.h"

void panic(const char *fmt, ...)
{
	va_list ap;
	__asm__ volatile("cli");
	printf("\n# PANIC: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# result: ERROR\n");
	machine_exit(EXIT_ERROR);
}
