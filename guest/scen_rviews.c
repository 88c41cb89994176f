/* scen_rviews.c: "regions_views": a region is emulated in every EPT view, those that existed
 * when it was registered and those created after, and registered by GPA as well as by GVA;
 * once removed, its code runs natively again in every view (no VM exit at all). */
#include "region.h"

#define FIB15 610
#define FIB15_INSNS (986 * 15 + 987 * 4)

static u64 fib(void)
{
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = 15;
	return rgn_invoke(&r, rgn_fib);
}

/* out: 0 entries over views 0, 1 (made before), 2 (made after), 1 instructions, 2 GPA-region
 * entries, 3 VM exits for the three native calls after removal, 4 the region's page */
void scen_regions_views(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	s64 id = rgn_add(rgn_fib_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 2);
	u64 bad = 0;
	for (u64 v = 0; v < 3; v++) {
		GEXPECT(hc1(HC_VIEW_SWITCH, v) >= 0);
		bad += fib() != FIB15;
	}
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 2);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(st.entries, 3); /* one per view: execute is gone in each */
	GEXPECT_EQ(st.instructions, 3 * FIB15_INSNS);
	GEXPECT_EQ(st.exits, 3);
	o[0] = st.entries, o[1] = st.instructions;

	/* by GPA (identity-mapped: the linear range follows from the faulting fetch) */
	id = hc3(HC_REGION_ADD, HV_TRAP_GPA, (u64)rgn_fib_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(fib(), FIB15);
	st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(st.entries, 1);
	GEXPECT_EQ(st.instructions, FIB15_INSNS);
	o[2] = st.entries;

	/* removed: native in every view, no exit but the switches' hypercalls */
	u64 e0 = guest_exits(&rgn_exit_stats);
	bad = 0;
	for (u64 v = 0; v < 3; v++)
		bad += (hc1(HC_VIEW_SWITCH, v) < 0) + (fib() != FIB15);
	hc1(HC_VIEW_SWITCH, 0);
	o[3] = guest_exits(&rgn_exit_stats) - e0 - 1 - 4; /* minus the four HC_VIEW_SWITCH */
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(o[3], 0);
	o[4] = (u64)rgn_fib_page; /* views 1 and 2 stay, for the hypervisor's check of its rights */
}

/* "regions_traps": region code writing a page that has a write trap. Natively each of the
 * four writing instructions of rgn_logged is one trap hit; emulated, each must be too (the
 * interpreter's EPT-denied write goes to violation_decide, as the CPU's would).
 * out: 0 native hits, 1 emulated hits, 2 values right (2), 3 region entries */
void scen_regions_traps(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	u64 *p = (u64 *)guest_page(70, 0);
	p[0] = 0x1111, p[2] = 0x2222, p[3] = 0x3333, p[5] = 0x5555;
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GPA, (u64)p, HV_ACCESS_W);
	GEXPECT(t >= 0);
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = (u64)p;
	rgn_invoke(&r, rgn_logged);
	o[0] = hc1(HC_TRAP_HITS, t);
	u64 ok = p[1] == 0x1111 && p[3] == 0x5555 && p[4] == 0x5a;
	p[3] = 0x3333, p[1] = p[4] = 0; /* reset (these writes hit the trap too) */
	u64 h0 = hc1(HC_TRAP_HITS, t);
	s64 id = rgn_add(rgn_hc_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	r = (struct rgn_regs){.rflags = 2};
	r.gpr[7] = (u64)p;
	rgn_invoke(&r, rgn_logged);
	o[1] = hc1(HC_TRAP_HITS, t) - h0;
	ok += p[1] == 0x1111 && p[3] == 0x5555 && p[4] == 0x5a;
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
	guest_printf("regions_traps: write trap hits: native %llu, emulated %llu; %llu entries, %llu instructions, "
		     "%llu stepped\n",
		     o[0], o[1], st.entries, st.instructions, st.stepped);
	GEXPECT_EQ(o[0], 4);
	GEXPECT_EQ(o[1], o[0]);
	GEXPECT_EQ(ok, 2);
	GEXPECT_EQ(st.instructions, 8); /* rgn_logged: 7 and RET, each once */
	o[2] = ok, o[3] = st.entries;
}
