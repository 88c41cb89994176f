/* format.c: the printf engine of both kernels, the hypervisor's (kernel/console.c) and the
 * guest's (guest/console.c): %d %i %u %x %X %p %s %c %%, flags '-' and '0', width (also *),
 * precision for %s, length modifiers l/ll/z/h (h accepted and ignored). Output goes to a putc
 * callback or into a buffer. No state, no allocation, nothing VMX. */
#include "format.h"

size_t strlen(const char *s);

struct sink {
	char *buf;
	size_t size, len;
	void (*putc)(char c); /* NULL: into buf */
};

static void sink_put(struct sink *s, char c)
{
	if (s->putc)
		s->putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_padded(struct sink *s, const char *str, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	if (!left)
		while (fill-- > 0)
			sink_put(s, pad);
	while (n--)
		sink_put(s, *str++);
	if (left)
		while (fill-- > 0)
			sink_put(s, ' ');
}

static void put_number(struct sink *s, u64 v, int base, bool neg, bool upper, int width, bool left, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = digits[v % base];
		v /= base;
	} while (v);
	if (neg) {
		if (pad == '0' && width > 0) { /* sign goes before the zeros */
			sink_put(s, '-');
			width--;
		} else {
			tmp[--i] = '-';
		}
	}
	put_padded(s, tmp + i, sizeof(tmp) - i, width, left, pad);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		bool left = false;
		char pad = ' ';
		int width = 0, prec = -1, lng = 0;
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
		if (fmt[1] == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		if (fmt[1] == '.') {
			fmt++;
			prec = 0;
			if (fmt[1] == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (fmt[1] >= '0' && fmt[1] <= '9')
				prec = prec * 10 + (*++fmt - '0');
		}
		while (fmt[1] == 'l' || fmt[1] == 'z' || fmt[1] == 'h') {
			if (fmt[1] != 'h')
				lng++;
			fmt++;
		}
		char c = *++fmt;
		u64 u;
		s64 d;
		switch (c) {
		case 'd':
		case 'i':
			d = lng ? va_arg(ap, s64) : va_arg(ap, int);
			put_number(s, d < 0 ? -(u64)d : (u64)d, 10, d < 0, false, width, left, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			put_number(s, u, c == 'u' ? 10 : 16, false, c == 'X', width, left, pad);
			break;
		case 'p':
			sink_put(s, '0');
			sink_put(s, 'x');
			put_number(s, (u64)va_arg(ap, void *), 16, false, false, width, left, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t n = strlen(str);
			if (prec >= 0 && (size_t)prec < n)
				n = prec;
			put_padded(s, str, n, width, left, ' ');
			break;
		}
		case 'c':
			sink_put(s, (char)va_arg(ap, int));
			break;
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return;
		default: /* unknown conversion: print it verbatim so the bug is visible */
			sink_put(s, '%');
			sink_put(s, c);
		}
	}
}

int format_out(void (*putc)(char c), const char *fmt, va_list ap)
{
	struct sink s = {.putc = putc};
	format(&s, fmt, ap);
	return (int)s.len;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = size};
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
