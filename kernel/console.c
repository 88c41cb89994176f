/* console.c: output on COM1 (what the test runner reads) mirrored to port 0xE9 (Bochs's
 * debug console), and printf on it (the engine is format.c). Output only: the kernel never
 * reads the console. */
#include "defs.h"
#include "x86.h"

#define COM1 0x3f8
#define COM_LSR_THRE 0x20 /* line status: transmit holding register empty */
#define E9_PORT 0xe9

void console_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts: we poll */
	outb(COM1 + 3, 0x80); /* DLAB on */
	outb(COM1 + 0, 0x01); /* divisor 1 = 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void console_putc(char c)
{
	if (c == '\n')
		console_putc('\r');
	/* Bound the wait: a missing UART (all-ones status) must not hang the kernel. */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & COM_LSR_THRE); i++)
		;
	outb(COM1, (u8)c);
	if (c != '\r')
		outb(E9_PORT, (u8)c);
}

void console_write(const char *s, size_t n)
{
	while (n--)
		console_putc(*s++);
}

/* One CPU's printf at a time (recursive: an exception reported inside printf still prints). */
static struct spinlock console_lock = SPINLOCK_INIT("console");

int vprintf(const char *fmt, va_list ap)
{
	spin_lock_recursive(&console_lock);
	int n = format_out(console_putc, fmt, ap);
	spin_unlock_recursive(&console_lock);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
