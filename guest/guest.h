/* guest.h: every function one guest/ file offers another, grouped by file (xv6 style). The
 * guest is self-contained: it links nothing from kernel/ and shares only kernel/types.h and
 * vmm/hypercall.h with the rest of hvlab. */
#ifndef HVLAB_GUEST_H
#define HVLAB_GUEST_H
#include <stdarg.h>
#include "cpu.h"
#include "hcall.h"

#define MiB (1UL << 20)
#define GiB (1UL << 30)

/* Code and data for CPL 3 go to their own pages, mapped user-accessible (see guest.ld).
 * User data is zero-initialised (.bss.user); user read-only data is the GEXPECT texts. */
#define GUEST_USER_TEXT __attribute__((section(".utext"), noipa))
#define GUEST_USER_DATA __attribute__((section(".bss.user")))

/* guest.ld: image layout */
extern char __image_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __user_start[], __user_rodata[], __user_data[], __user_end[], _end[];

/* console.c: COM1 output (port 0x3f8, write only), printf, string helpers */
void guest_putc(char c);
int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* desc.c: GDT, TSS and IDT */
#define GUEST_KCS 0x08
#define GUEST_KDS 0x10
#define GUEST_UDS (0x18 | 3)
#define GUEST_UCS (0x20 | 3)
#define GUEST_TSS 0x28
#define GUEST_USER_VECTOR 0x80 /* DPL 3 gate: ring 3 -> ring 0 */
void guest_desc_init(void);
void guest_idt_load(u16 limit, u64 base);

/* paging.c: the guest's own identity map of [0, ram_size) */
void guest_paging_init(u64 ram_size);
void guest_map_2m(u64 gpa);
u64 guest_mapped_end(void);

/* trap.c: exceptions; fault catching for scenarios */
struct guest_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
struct guest_fault {
	int vector; /* -1: no fault */
	u64 error_code, rip, cr2;
};
typedef bool (*guest_trap_fn)(struct guest_frame *f);
const char *guest_trap_name(int vector);
void guest_trap_set_handler(int vector, guest_trap_fn fn);
void guest_trap(struct guest_frame *f);
int guest_catch(void (*fn)(void *), void *arg, struct guest_fault *fi);

/* entry.S: vectors, setjmp/longjmp, ring-3 calls */
extern const u64 guest_vectors[32];
void guest_user_vector(void);
int guest_setjmp(void *j) __attribute__((returns_twice));
void guest_longjmp(void);
/* Run fn(arg) at CPL 3 on stack_top (fn must be GUEST_USER_TEXT); returns fn's result. */
u64 guest_user_call(u64 (*fn)(void *), void *arg, void *stack_top);
extern u8 guest_user_stack_top[];

/* main.c */
void guest_main(struct hv_boot_info *bi) __attribute__((noreturn));
void guest_exit(u64 status) __attribute__((noreturn));

/* Scenarios: one function each, listed in main.c's table. */
void scen_hello(struct hv_boot_info *bi);
void scen_cpuid(struct hv_boot_info *bi);
void scen_io(struct hv_boot_info *bi);
void scen_msr(struct hv_boot_info *bi);
void scen_cr(struct hv_boot_info *bi);
void scen_vmx_insns(struct hv_boot_info *bi);
void scen_xsetbv(struct hv_boot_info *bi);
void scen_bench(struct hv_boot_info *bi);
void scen_vmcall(struct hv_boot_info *bi);
void scen_hypercall_fuzz(struct hv_boot_info *bi);
void scen_user_mode(struct hv_boot_info *bi);
void scen_triple_fault(struct hv_boot_info *bi);
void scen_ept_identity(struct hv_boot_info *bi);
void scen_pattern_write(struct hv_boot_info *bi);
void scen_pattern_check(struct hv_boot_info *bi);
void scen_vmxoff(struct hv_boot_info *bi);
#endif
