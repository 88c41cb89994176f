/* guest.h: every function one guest/ file offers another, grouped by file (xv6 style). The
 * guest is its own kernel: from the rest of hvlab it shares only kernel/types.h,
 * vmm/hypercall.h, kernel/desc.h and kernel/vectors.inc, and three freestanding files compiled
 * into it: kernel/format.c (printf), kernel/string.c and kernel/catch.c (fault catching). */
#ifndef HVLAB_GUEST_H
#define HVLAB_GUEST_H
#include <stdarg.h>
#include "cpu.h"
#include "hcall.h"
#include "../kernel/format.h"
#include "../kernel/catch.h" /* struct trap_frame, trap_catch(), trap_name() */

#define MiB (1UL << 20)
#define GiB (1UL << 30)

/* Code and data for CPL 3 go to their own pages, mapped user-accessible (see guest.ld).
 * User data is zero-initialised (.bss.user); user read-only data is the GEXPECT texts. */
#ifdef HVLAB_COVERAGE /* no counters in ring-3 code: they live on supervisor pages */
#define GUEST_USER_TEXT __attribute__((section(".utext"), noipa, no_profile_instrument_function))
void cov_guest_start(void); /* gcov.c: run the constructors */
#else
#define GUEST_USER_TEXT __attribute__((section(".utext"), noipa))
static inline void cov_guest_start(void) {}
#endif
#define GUEST_USER_DATA __attribute__((section(".bss.user")))

/* guest.ld: image layout */
extern char __image_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __user_start[], __user_rodata[], __user_data[], __user_end[], _end[];

/* console.c: COM1 output (port 0x3f8, write only), printf; kernel/format.c: snprintf;
 * kernel/string.c: the string functions (both compiled into the guest too) */
void guest_putc(char c);
int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define guest_vsnprintf vsnprintf
#define guest_snprintf snprintf
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

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
#define GUEST_MAP_W 1 /* guest_map_4k() rights: writable, */
#define GUEST_MAP_U 2 /* user-accessible, */
#define GUEST_MAP_X 4 /* executable (NX clear) */
void guest_map_4k(u64 gva, u64 gpa, unsigned rights);
u64 guest_mapped_end(void);

/* trap.c: exceptions; fault catching for scenarios */
typedef bool (*guest_trap_fn)(struct trap_frame *f);
void guest_trap_set_handler(int vector, guest_trap_fn fn);
void guest_trap(struct trap_frame *f);

/* entry.S: vectors, setjmp/longjmp, ring-3 calls */
extern const u64 guest_vectors[32];
void guest_user_vector(void);
/* Run fn(arg) at CPL 3 on stack_top (fn must be GUEST_USER_TEXT); returns fn's result. */
u64 guest_user_call(u64 (*fn)(void *), void *arg, void *stack_top);
extern u8 guest_user_stack_top[];

/* ve.c: EPT views from the guest's side: scratch pages, the #VE handler, the violation ring */
#define GUEST_SCRATCH (8 * MiB) /* the view scenarios' pages: 4 KiB guest pages from here */
#define GUEST_SCRATCH_PAGE(n) (GUEST_SCRATCH + (u64)(n) * PAGE_SIZE)
#define GUEST_VE_INFO GUEST_SCRATCH_PAGE(0) /* the #VE information page */
/* EPT-violation exit qualification (SDM "Exit Qualification for EPT Violations"): the access
 * (bits 0-2), the page's rights in the view (3-5, as HV_ACCESS_* << 3), GLA valid (7), an
 * access to the translated address rather than a paging-structure entry (8). */
#define EPTQ_READ BIT(0)
#define EPTQ_WRITE BIT(1)
#define EPTQ_FETCH BIT(2)
#define EPTQ_RIGHTS(access) ((u64)(access) << 3)
#define EPTQ_GLA_VALID BIT(7)
#define EPTQ_TRANSLATED BIT(8)
#define EPTQ_CHECKED 0x1bfUL /* the bits above; 6 and 9-12 depend on CPU features */
#define ACTION_VE 3   /* struct hv_violation.action: a #VE injected by the hypervisor */
#define ACTION_TRAP 4 /* ... a trap hit */
#define EXIT_REASON_EPT_VIOLATION 48
#define VE_VECTOR 20
struct guest_ve {
	u32 exit_reason, semaphore;  /* the semaphore as the handler found it */
	u64 qualification, gla, gpa;
	u16 eptp_index;
	u64 rip, cs;                 /* where the #VE hit (the faulting instruction) */
};
extern struct guest_ve guest_ve_last; /* the last #VE handled */
extern u64 guest_ve_count;            /* #VEs handled so far */
typedef void (*guest_ve_fn)(const volatile struct hv_ve_info *info);
u64 guest_page(int n, unsigned rights);
s64 guest_ve_setup(void);
void guest_ve_set_action(guest_ve_fn fn, bool clear_semaphore);
volatile struct hv_ve_info *guest_ve_info(void);
void guest_ve_restore(const volatile struct hv_ve_info *info);
void guest_ve_to_view0(const volatile struct hv_ve_info *info);
u64 guest_violations_read(struct hv_violation *buf, u64 max);
u64 guest_violations_drain(void);
u64 guest_exits(struct hv_exit_stats *s);

/* main.c */
void guest_main(struct hv_boot_info *bi) __attribute__((noreturn));
void guest_exit(u64 status) __attribute__((noreturn));

/* Scenarios: one function each, listed in main.c's table. */
void scen_hello(struct hv_boot_info *bi);
/* scen_smp.c: several vCPUs. Their stacks live in guest RAM at 12 MiB, 16 KiB each, not in .bss
 * (entry.S clears .bss byte by byte at every boot: 256 KiB more would cost every run). RSP at a
 * function's first instruction is 8 mod 16 (a CALL pushed the return address). */
#define GUEST_VCPU_STACKS (12 * MiB)
#define GUEST_VCPU_STACK_TOP(id) (GUEST_VCPU_STACKS + ((u64)(id) + 1) * 16384 - 8)
void scen_smp_hello(struct hv_boot_info *bi);
void scen_smp_views(struct hv_boot_info *bi);
void scen_smp_shootdown(struct hv_boot_info *bi);
void scen_smp_bad(struct hv_boot_info *bi);
void scen_smp_stress(struct hv_boot_info *bi);
void scen_smp_ve(struct hv_boot_info *bi);
void scen_smp_shared(struct hv_boot_info *bi);
void scen_smp_trap_step(struct hv_boot_info *bi);
/* scen_gintr.c: interrupts to the guest */
void scen_gi_timer(struct hv_boot_info *bi);
void scen_gi_held(struct hv_boot_info *bi);
void scen_gi_hlt_timer(struct hv_boot_info *bi);
void scen_gi_hlt_stop(struct hv_boot_info *bi);
void scen_gi_ipi(struct hv_boot_info *bi);
void scen_gi_ping(struct hv_boot_info *bi);
void scen_gi_bad(struct hv_boot_info *bi);
void scen_gi_region(struct hv_boot_info *bi);
void scen_gi_region_smp(struct hv_boot_info *bi);
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
void scen_ept_access(struct hv_boot_info *bi);
void scen_views_remap(struct hv_boot_info *bi);
void scen_views_invept(struct hv_boot_info *bi);
void scen_views_busy(struct hv_boot_info *bi);
void scen_vmfunc(struct hv_boot_info *bi);
void scen_ve(struct hv_boot_info *bi);
void scen_traps(struct hv_boot_info *bi);
void scen_bench_views(struct hv_boot_info *bi);
void scen_regions_same(struct hv_boot_info *bi);   /* emulated regions: scen_regions.c, */
void scen_regions_cpu(struct hv_boot_info *bi);
void scen_regions_bad(struct hv_boot_info *bi);
void scen_regions_log(struct hv_boot_info *bi);
void scen_regions_faults(struct hv_boot_info *bi); /* scen_rfault.c, */
void scen_regions_stepfault(struct hv_boot_info *bi);
void scen_regions_rights(struct hv_boot_info *bi);  /* scen_rrights.c, */
void scen_regions_views(struct hv_boot_info *bi);   /* scen_rviews.c, */
void scen_regions_traps(struct hv_boot_info *bi);
void scen_regions_diff(struct hv_boot_info *bi);   /* scen_rdiff.c */
void scen_regions_alias(struct hv_boot_info *bi);
void scen_hostile(struct hv_boot_info *bi);        /* scen_hostile.c */
void scen_spin(struct hv_boot_info *bi);
void scen_page_walk_rsvd(struct hv_boot_info *bi); /* scen_rsvd.c */
void scen_hviews_remap_read(struct hv_boot_info *bi);   /* hostile views: scen_hviews.c */
void scen_hviews_denied_write(struct hv_boot_info *bi);
void scen_hviews_remap_region(struct hv_boot_info *bi);
void scen_hviews_remap_trap(struct hv_boot_info *bi);
void scen_hviews_rights_monitor(struct hv_boot_info *bi);
void scen_hviews_ve_monitor(struct hv_boot_info *bi);
void scen_hviews_region_nox(struct hv_boot_info *bi);
void scen_hviews_gva_remap(struct hv_boot_info *bi);
void scen_hviews_unmonitor(struct hv_boot_info *bi);
void scen_hviews_get_access(struct hv_boot_info *bi);
void scen_hviews_vmfunc_region(struct hv_boot_info *bi);
void scen_hviews_vmfunc_between(struct hv_boot_info *bi);
void scen_hviews_pagetables(struct hv_boot_info *bi);
void scen_hviews_smc(struct hv_boot_info *bi);
void scen_guest_fuzz(struct hv_boot_info *bi);     /* scen_gfuzz.c: the random-program fuzzer */
void scen_regions_cwork(struct hv_boot_info *bi);  /* scen_cwork.c */
void scen_regions_glue(struct hv_boot_info *bi);   /* scen_rglue.c */
#ifdef HVLAB_COVERAGE
void scen_gcov_probe(struct hv_boot_info *bi);     /* scen_gcov.c: the coverage build's self-test */
#endif
#endif
