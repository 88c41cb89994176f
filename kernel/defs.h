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
void cov_guest_collect_marked(struct vm *vm, const u8 *frames); /* a fuzz iteration's */
#else
static inline void cov_start(void) {}
static inline void cov_checkpoint(const char *suite) { (void)suite; }
static inline void cov_final(u8 status) { (void)status; }
static inline void cov_guest_collect(struct vm *vm) { (void)vm; }
static inline void cov_guest_collect_marked(struct vm *vm, const u8 *frames) { (void)vm, (void)frames; }
#endif

/* gdt.c */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define TSS_SEL 0x18
void gdt_init(void);
void gdt_init_cpu(u32 cpu); /* each CPU its own GDT and TSS (a busy TSS cannot be shared) */
u64 gdt_base(void);
u64 tss_base(void);

/* trap.c: exceptions; fault catching for tests */
void trap_init(void);
void trap_load(void); /* an AP: the same IDT */
void idt_set(u32 vector, u64 handler);
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

/* spinlock.c: spinlocks (xchg; the holder's CPU is recorded so that a report made while the
 * same CPU holds the lock, e.g. an exception inside printf, goes on instead of deadlocking) */
struct spinlock {
	volatile u32 locked;
	volatile s32 cpu;  /* the holder's CPU index, -1 when free */
	u32 depth;         /* nested acquisitions by the holder (spin_lock_recursive) */
	const char *name;
};
#define SPINLOCK_INIT(n) {0, -1, 0, n}
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
void spin_lock_recursive(struct spinlock *l);
void spin_unlock_recursive(struct spinlock *l);
bool spin_trylock(struct spinlock *l);

/* smp.c, acpi.c, lapic.c: the CPUs (docs/smp.md). CPU 0 is the bootstrap processor; the
 * others are started by smp_init (INIT-SIPI-SIPI) and wait in HLT for work (smp_call). */
#define SMP_MAX_CPUS 16
#define SMP_STACK_SIZE (32UL << 10)
enum cpu_state { CPU_ABSENT, CPU_STARTING, CPU_ONLINE, CPU_FAILED, CPU_UNUSED };
struct cpu {
	struct cpu *self;              /* IA32_GS_BASE points here (this_cpu) */
	u32 index, apic_id;
	volatile u32 state;            /* enum cpu_state */
	u8 *stack;                     /* SMP_STACK_SIZE bytes (APs); the BSP keeps boot.S's */
	void (*volatile call_fn)(void *);
	void *volatile call_arg;
	volatile u64 call_seq, call_done; /* smp_call: posted / finished */
	volatile u64 irqs, nmis, call_ipis; /* counters (tests) */
	volatile u64 timer_ticks;      /* LAPIC timer interrupts */
	void *vmm;                     /* vmm/'s per-CPU data (kernel/ does not look inside) */
};
struct smp_enum {                      /* what the firmware tables say */
	u32 n;
	u32 apic_id[SMP_MAX_CPUS];
	u32 ignored;                   /* enabled CPUs beyond SMP_MAX_CPUS */
	u64 lapic_base;
	const char *source;            /* "MADT", "MP table" or "none" */
};
extern struct cpu smp_cpus[SMP_MAX_CPUS];
extern u32 smp_ncpus;                  /* CPUs online (the BSP included) */
extern u32 smp_nfound;                 /* CPUs the tables list (before cpus=) */
extern const char *smp_source;
int acpi_madt_cpus(struct smp_enum *e);
int mp_table_cpus(struct smp_enum *e);
void smp_init(const char *cmdline);
struct cpu *this_cpu(void);
u32 cpu_id(void);
int smp_start_ap(u32 apic_id, struct cpu *c, u64 timeout_us);
int smp_call(u32 cpu, void (*fn)(void *), void *arg);       /* post fn(arg) to an idle AP */
int smp_call_wait(u32 cpu, u64 timeout_us);                  /* 0 done, -1 timed out */
void smp_ap_idle(void) __attribute__((noreturn));
u64 us_to_tsc(u64 us);
typedef void (*irq_fn)(u32 vector);
#define IRQ_VEC_CALL 0xf0              /* smp_call's kick */
#define IRQ_VEC_TIMER 0xef             /* the LAPIC timer */
#define IRQ_VEC_SPURIOUS 0xff
void irq_register(u32 vector, irq_fn fn);
void irq_dispatch(struct trap_frame *f);
extern bool (*nmi_hook)(struct trap_frame *f);
bool lapic_x2apic(void);
u32 lapic_id(void);
void lapic_init_cpu(void);
void lapic_eoi(void);
void lapic_send_ipi(u32 apic_id, u32 vector);
void lapic_send_nmi(u32 apic_id);
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u32 page);
u64 lapic_timer_hz(void);
void lapic_timer_start(u32 vector, u64 count, bool periodic);
void lapic_timer_stop(void);

/* main.c, and what it hands over to */
void kmain(u32 magic, u64 info);
void ktap_main(const char *list) __attribute__((noreturn)); /* tests/ktap.c */
void vmm_main(const char *cmdline);                         /* vmm/main.c */
#endif
