/* format.h: the printf engine shared by the hypervisor and the guest kernel (format.c). */
#ifndef HVLAB_FORMAT_H
#define HVLAB_FORMAT_H
#include <stdarg.h>
#include "types.h"

int format_out(void (*putc)(char c), const char *fmt, va_list ap);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
