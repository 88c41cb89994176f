/* console.c: guest output on COM1 and a compact printf. Only writes to port 0x3f8: no UART
 * setup, no status polling, no port 0xE9, because the hypervisor traps the port, forwards each
 * line with a "[guest]" prefix, and counts every other port the "io" scenario checks.
 * Also the few string functions GCC may call even in freestanding code. */
#include "guest.h"

#define COM1 0x3f8

void guest_putc(char c) { outb(COM1, (u8)c); }

/* printf engine: %d %i %u %x %p %s %c %%, flag '0' and '-', width, length l/ll/z. */
struct sink {
	char *buf;
	size_t size, len;
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		guest_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_field(struct sink *s, const char *str, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	while (!left && fill-- > 0)
		sink_put(s, pad);
	while (n--)
		sink_put(s, *str++);
	while (left && fill-- > 0)
		sink_put(s, ' ');
}

static void put_number(struct sink *s, u64 v, unsigned base, bool neg, int width, bool left, char pad)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[--i] = '-';
	put_field(s, tmp + i, sizeof(tmp) - i, width, left, pad);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		bool left = false, lng = false;
		char pad = ' ';
		int width = 0;
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = true;
			else if (fmt[1] == '0')
				pad = '0';
			else
				break;
		}
		while (fmt[1] >= '0' && fmt[1] <= '9')
			width = width * 10 + (*++fmt - '0');
		for (; fmt[1] == 'l' || fmt[1] == 'z'; fmt++)
			lng = true;
		char c = *++fmt;
		s64 d;
		u64 u;
		switch (c) {
		case 'd':
		case 'i':
			d = lng ? va_arg(ap, s64) : va_arg(ap, int);
			put_number(s, d < 0 ? -(u64)d : (u64)d, 10, d < 0, width, left, pad);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			put_number(s, u, c == 'u' ? 10 : 16, false, width, left, pad);
			break;
		case 'p':
			put_field(s, "0x", 2, 0, false, ' ');
			put_number(s, (u64)va_arg(ap, void *), 16, false, width, left, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			str = str ? str : "(null)";
			put_field(s, str, strlen(str), width, left, ' ');
			break;
		}
		case 'c':
			sink_put(s, (char)va_arg(ap, int));
			break;
		case '\0':
			return;
		default: /* %% and unknown conversions: print them verbatim */
			if (c != '%')
				sink_put(s, '%');
			sink_put(s, c);
		}
	}
}

int guest_printf(const char *fmt, ...)
{
	struct sink s = {0};
	va_list ap;
	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	return (int)s.len;
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	char dummy;
	struct sink s = {.buf = size ? buf : &dummy, .size = size};
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* REP STOSB / REP MOVSB: a C loop here could be turned back into a call to itself. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;
	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (u8)*a - (u8)*b;
}
