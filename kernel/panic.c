/* panic.c: an unrecoverable hypervisor error. Like an unexpected exception (trap.c) it is a
 * crash of the run: a KTAP "Bail out!" line with the message and the caller, the call trace,
 * exit status ERROR and no "# result:" line. It never hangs. */
#include "defs.h"

void panic(const char *fmt, ...)
{
	static bool panicking;
	va_list ap;
	__asm__ volatile("cli");
	if (panicking) /* a panic while printing a panic */
		machine_exit(EXIT_ERROR);
	panicking = true;
	printf("\nBail out! hypervisor panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (called from ");
	ksym_print_return((u64)__builtin_return_address(0));
	printf(")\n");
	ksym_backtrace((u64)__builtin_frame_address(0));
	machine_exit(EXIT_ERROR);
}
