/* hviews.h: what the hostile views scenarios share (scen_hviews.c: emulated code, remaps and
 * VMFUNC; scen_hrules.c: the composition rules): the code templates of hviews.S, the pages'
 * tags, and helpers for views, traps, regions, calls in a view and a #VE handler. */
#ifndef HVLAB_GUEST_HVIEWS_H
#define HVLAB_GUEST_HVIEWS_H
#include "region.h"

#define RWX (HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X)
#define RX (HV_ACCESS_R | HV_ACCESS_X)
#define RW (HV_ACCESS_R | HV_ACCESS_W)
#define A_TAG 0xaaaa000000000000UL /* hvw_fill(): words A_TAG + 1, + 2, ... */
#define B_TAG 0xbbbb000000000000UL

/* hviews.S: templates, copied to a scratch page by hvw_code_page() */
extern char hv_t_rw[], hv_t_rw_end[], hv_t_store[], hv_t_store_insn[], hv_t_store_next[], hv_t_store_end[];
extern char hv_t_vmfunc[], hv_t_vmfunc_end[], hv_t_pte[], hv_t_pte_end[], hv_t_load[], hv_t_load_end[];
extern char hv_t_smc[], hv_t_smc_end[];

/* scen_hviews.c: helpers */
extern struct hv_violation hvw_recs[HV_VIOLATION_RING];
u64 hvw_rd(u64 a);
void hvw_wr(u64 a, u64 v);
void hvw_fill(u64 p, u64 tag);
u64 hvw_code_page(int n, const char *start, const char *end);
u64 hvw_const_page(int n, u32 imm);
void hvw_view1(void);
s64 hvw_set_access(u64 v, u64 p, u64 rights);
s64 hvw_set_ve(u64 v, u64 p, u64 on);
s64 hvw_get_access(u64 v, u64 p);
s64 hvw_trap_gpa(u64 p, u64 access);
s64 hvw_hits(s64 t);
u64 hvw_entries(s64 id);
u64 hvw_ept_exits(void);
u64 hvw_call_in(u32 v, u64 fn);
void hvw_regs_init(struct rgn_regs *r, u64 rdi, u64 rsi, u64 rdx);
void hvw_invoke_in(u32 v, struct rgn_regs *r, u64 fn, u64 rdi, u64 rsi, u64 rdx);
bool hvw_one_record(u32 action, u64 gpa, u64 access, u64 rights);
/* The #VE handler: records what the guest saw in hvw_ve; skips the instruction at
 * hvw_ve_skip_rip (hvw_ve_skip_len bytes), else gives the page RWX in the #VE's view. */
struct hvw_ve_seen {
	u64 n, qual, gla, gpa, rip, index;
};
extern struct hvw_ve_seen hvw_ve;
extern u64 hvw_ve_skip_rip, hvw_ve_skip_len;
void hvw_ve_init(void);
#endif
