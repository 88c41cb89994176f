/* region.h: what the emulated-region scenarios share: the workloads and harness of
 * rgn_work.S, and the helpers of scen_regions.c (region calls, stats, a second address space
 * for a ring-3 process). */
#ifndef HVLAB_GUEST_REGION_H
#define HVLAB_GUEST_REGION_H
#include "guest.h"

/* rgn_work.S: page-aligned workloads in [rgn_text_start, rgn_text_end) */
extern char rgn_text_start[], rgn_text_end[];
extern char rgn_fib_page[], rgn_strings_page[], rgn_callout_page[], rgn_fault_page[];
extern char rgn_cpu_page[], rgn_hc_page[];
extern char rgn_checksum[], rgn_fib[], rgn_strings[], rgn_callout[], rgn_callback[];
extern char rgn_ud[], rgn_ud_insn[], rgn_de[], rgn_de_insn[], rgn_gp[], rgn_gp_insn[];
extern char rgn_read[], rgn_read_insn[], rgn_store8[], rgn_store8_insn[], rgn_copy[], rgn_copy_insn[];
extern char rgn_sse[], rgn_sse_insn[];
extern char rgn_x87[], rgn_cpuid[], rgn_print[], rgn_remove_self[], rgn_logged[];
extern char rgn_user_prog[], rgn_user_probe[], rgn_user_probe_insn[], rgn_user_end[];
extern char rgn_normal[], rgn_invoke_ret[];
struct rgn_regs {
	u64 gpr[16]; /* by x86 number; gpr[4] out: RSP after the return */
	u64 rflags;
};
u64 rgn_invoke(struct rgn_regs *r, void *fn);

/* scen_regions.c */
#define RGN_FLAGS_CMP 0xcd5UL /* CF PF AF ZF SF OF DF: compared between runs */
s64 rgn_add(void *gva, u64 size);
void rgn_remove(s64 id);
struct hv_region_stats rgn_stats(s64 id);
u64 rgn_regs_diff(const struct rgn_regs *a, const struct rgn_regs *b, u64 flags_mask);
void rgn_regs_print(const char *what, const struct rgn_regs *r);
/* The ring-3 process: its own CR3 (the kernel's map shared through PML4 entry 0) with user
 * pages at RGN_USER_BASE: code (a copy of rgn_user_prog..rgn_user_end), data, stack. */
#define RGN_USER_BASE 0x8000000000UL /* PML4 entry 1 */
#define RGN_USER_CODE RGN_USER_BASE
#define RGN_USER_DATA (RGN_USER_BASE + 0x1000)
#define RGN_USER_STACK_TOP (RGN_USER_BASE + 0x3000)
u64 rgn_user_space(void);
struct rgn_measure {
	u64 tsc, exits;
};
u64 rgn_user_run(u64 cr3, u64 entry, u64 arg, struct rgn_measure *m);
extern struct hv_exit_stats rgn_exit_stats; /* guest_exits()'s buffer */

#endif
