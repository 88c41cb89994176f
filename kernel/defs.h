/* defs.h: every function one kernel/ file offers another, grouped by file (xv6 style).
 * kernel/ is the L1 platform: it knows nothing about VMX. */
#ifndef HVLAB_DEFS_H
#define HVLAB_DEFS_H
#include <stdarg.h>
#include "types.h"
#include "format.h"
#include "catch.h"

/* console.c: COM1 (115200 8N1) mirrored to the Bochs debug port 0xE9; format.c: snprintf */
void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t n);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
u64 strtou64(const char *s, const char **end, int base);

/* What `make exercise EX=NN` leaves where it removed a marked block (docs/exercises/): a
 * diagnostic naming the exercise on every call; the tests that need the block then fail. The
 * optional arguments are the variables only the removed code used ("[uses a, b]" in the
 * marker), passed on so the stripped tree still builds without unused-variable warnings. */
static inline void exercise_uses(int n, ...) { (void)n; }
#define EXERCISE_TODO(n, ...)                                                          \
	(printf("# EXERCISE(%02d) not done: %s:%s\n", n, __FILE__, __func__),         \
	 exercise_uses(n, ##__VA_ARGS__))

/* tsc.c: the TSC frequency in Hz, measured against the PIT at the first call */
u64 tsc_hz(void);

/* panic.c */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define ASSERT(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))

/* power.c: end the machine. Status codes are the isa-debug-exit values of the test protocol. */
#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11
#define EXIT_SKIP 0x12
#define EXIT_ERROR 0x13
void machine_exit(u8 status) __attribute__((noreturn));

/* gcov.c: the coverage build's runtime (COVERAGE=1: docs/testing.md, "Coverage of the
 * hypervisor"); in the normal build these hooks are empty and compile to nothing. */
struct gcov_info;
struct vm;
#ifdef HVLAB_COVERAGE
void cov_start(void);                   /* kmain: run the constructors */
void cov_checkpoint(const char *suite); /* a suite's end: dump what changed */
void cov_final(u8 status);              /* machine_exit: the final dump */
int cov_register_guest(struct gcov_info *info);
void cov_guest_counted(bool added);
const struct gcov_info *cov_find(const char *suffix, bool guest);
void cov_guest_collect(struct vm *vm);  /* vmm/gcov_guest.c: at the end of each vm_run */
#else
static inline void cov_start(void) {}
static inline void cov_checkpoint(const char *suite) { (void)suite; }
static inline void cov_final(u8 status) { (void)status; }
static inline void cov_guest_collect(struct vm *vm) { (void)vm; }
#endif

/* gdt.c */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define TSS_SEL 0x18
void gdt_init(void);
u64 gdt_base(void);
u64 tss_base(void);

/* trap.c: exceptions; fault catching for tests */
void trap_init(void);
u64 idt_base(void);
int rdmsr_safe(u32 msr, u64 *val);

/* paging.c: the hypervisor's page tables (page 0 unmapped, text read-only, data NX) */
void paging_init(void);
bool paging_nx(void);
extern char _text_end[], _rodata_end[]; /* kernel/linker.ld: the ends of text and rodata */

/* mb2.c: multiboot2 information */
#define MB2_BOOT_MAGIC 0x36d76289
#define MB2_MAX_MMAP 64
#define MB2_MAX_MODULES 8
struct mb2_region {
	u64 base, len;
	u32 type; /* 1 = available RAM */
};
struct mb2_module {
	u64 start, end;
	const char *cmdline;
};
struct boot_info {
	const char *cmdline;
	const char *loader;
	struct mb2_region mmap[MB2_MAX_MMAP];
	int nmmap;
	struct mb2_module modules[MB2_MAX_MODULES];
	int nmodules;
	u64 info_start, info_end; /* the multiboot2 information structure itself */
	u64 symtab, symtab_size;  /* the kernel's ELF .symtab and .strtab as GRUB loaded them */
	u64 strtab, strtab_size;  /* (0 when the ELF-symbols tag is missing) */
};
extern struct boot_info boot_info;
int mb2_parse(u32 magic, u64 info_phys, struct boot_info *bi);
int cmdline_get(const char *cmdline, const char *key, char *val, size_t size); /* >= size: too long */
bool cmdline_list_has(const char *list, const char *word);

/* ksym.c: names for code addresses, from the kernel's symbol table */
const char *ksym_name(u64 addr, u64 *offset);
void ksym_print(u64 addr);
void ksym_print_return(u64 addr);
void ksym_backtrace(u64 rbp);

/* kalloc.c: physical page allocator (bitmap over the identity-mapped first 4 GiB) */
void kalloc_init(const struct boot_info *bi);
void *kalloc_page(void);
void *kalloc_pages(u64 n, u64 align);
int kfree_page(void *p);
int kfree_pages(void *p, u64 n);
u64 kalloc_free_count(void);
u64 kalloc_ram_ignored(void); /* bytes of RAM above 4 GiB, which nothing uses */
bool kalloc_is_free(u64 pa);
extern char _kernel_start[], _kernel_end[];

/* main.c, and what it hands over to */
void kmain(u32 magic, u64 info);
void ktap_main(const char *list) __attribute__((noreturn)); /* tests/ktap.c */
void vmm_main(const char *cmdline);                         /* vmm/main.c */
#endif
