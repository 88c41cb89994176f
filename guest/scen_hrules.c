/* scen_hrules.c: the hostile-guest scenarios for the composition rules of docs/views.md,
 * "One policy per page" (tests/hostile_views.c), one rule each: a rights change under a
 * monitor, #VE on a monitored page, a fetch from a region page the view gives no X, GVA
 * monitors added through a remap, removing a monitor, HC_VIEW_GET_ACCESS. Helpers: hviews.h. */
#include "hviews.h"

/* ---- composition rules 4 and 7 ---- */

/* Rights change under a monitor: allowed, and the trap keeps counting. A write the view denies
 * is the guest's violation (RESTORE: recorded), the retry (allowed) a trap hit. out: 0 page,
 * 1 records of the first write, 2 hits, 3 region page, 4 its entries */
void scen_hviews_rights_monitor(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), c = hvw_const_page(3, 0x600d);
	hvw_view1();
	s64 t = hvw_trap_gpa(p, HV_ACCESS_W);
	GEXPECT(t >= 0);
	GEXPECT_EQ(hvw_set_access(1, p, HV_ACCESS_R), 0);
	GEXPECT_EQ(hvw_get_access(1, p), HV_ACCESS_R);
	guest_violations_drain();
	vmfunc_eptp_switch(1);
	hvw_wr(p, 0x1111);
	vmfunc_eptp_switch(0);
	u64 n = guest_violations_read(hvw_recs, HV_VIOLATION_RING);
	if (GEXPECT_EQ(n, 2)) {
		GEXPECT_EQ(hvw_recs[0].action, HV_POLICY_RESTORE), GEXPECT_EQ(hvw_recs[0].gpa, p);
		GEXPECT_EQ(hvw_recs[0].qualification & EPTQ_CHECKED,
			   EPTQ_WRITE | EPTQ_RIGHTS(HV_ACCESS_R) | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
		GEXPECT_EQ(hvw_recs[1].action, ACTION_TRAP), GEXPECT_EQ(hvw_recs[1].gpa, p);
	}
	GEXPECT_EQ(hvw_hits(t), 1), GEXPECT_EQ(hvw_rd(p), 0x1111), GEXPECT_EQ(hvw_get_access(1, p), RWX);
	GEXPECT_EQ(hvw_set_access(1, p, RW), 0);
	vmfunc_eptp_switch(1);
	hvw_wr(p, 0x2222);
	vmfunc_eptp_switch(0);
	GEXPECT_EQ(hvw_hits(t), 2), GEXPECT_EQ(hvw_rd(p), 0x2222);
	s64 id = hc3(HC_REGION_ADD, HV_TRAP_GPA, c, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hvw_set_access(1, c, RX), 0);
	GEXPECT_EQ(hvw_call_in(1, c), 0x600d);
	bi->out[0] = p, bi->out[1] = n, bi->out[2] = hvw_hits(t), bi->out[3] = c, bi->out[4] = hvw_entries(id);
	GEXPECT_EQ(bi->out[4], 1);
}

/* #VE on a monitored page (a read-write trap; view 1: R, #VE on). An access the view allows
 * is counted, with no #VE; one it denies is the guest's #VE (injected by the hypervisor: the
 * monitor keeps #VE suppressed in the leaf) with what the CPU reports for the view's rights
 * (bits 3-5: R, not what the trap left in the leaf); once the handler restores RWX the retry
 * is counted. The same from region code (hv_t_store; the handler skips the store). A fetch
 * from a region page the view gives no X is a #VE too, then (X restored) a region entry.
 * out: 0 #VEs (3), 1 hits natively (2), 2 hits by region code (2), 3 entries of the no-X
 * region page (1), 4 write #VEs that reported the view's rights (2) */
void scen_hviews_ve_monitor(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), c = hvw_const_page(3, 0x600d), code = hvw_code_page(4, hv_t_store, hv_t_store_end);
	u64 want = EPTQ_WRITE | EPTQ_RIGHTS(HV_ACCESS_R) | EPTQ_GLA_VALID | EPTQ_TRANSLATED, *o = (u64 *)bi->out;
	u64 store = code + (hv_t_store_insn - hv_t_store);
	struct rgn_regs r;
	hvw_ve_init();
	hvw_wr(p, 0x4141);
	hvw_view1();
	s64 t = hvw_trap_gpa(p, RW), id = rgn_add((void *)code, PAGE_SIZE);
	GEXPECT(t >= 0 && id >= 0);
	GEXPECT_EQ(hvw_set_ve(1, p, 1), 0);
	GEXPECT_EQ(hvw_set_access(1, p, HV_ACCESS_R), 0);
	vmfunc_eptp_switch(1);
	u64 v = hvw_rd(p);
	u64 n_read = hvw_ve.n;
	hvw_wr(p + 8, 0x4242);
	vmfunc_eptp_switch(0);
	o[1] = hvw_hits(t);
	GEXPECT_EQ(v, 0x4141), GEXPECT_EQ(n_read, 0), GEXPECT_EQ(hvw_ve.n, 1), GEXPECT_EQ(o[1], 2);
	o[4] += GEXPECT_EQ(hvw_ve.qual & EPTQ_CHECKED, want);
	GEXPECT_EQ(hvw_ve.gpa, p + 8), GEXPECT_EQ(hvw_ve.index, 1);
	GEXPECT_EQ(hvw_set_access(1, p, HV_ACCESS_R), 0);
	hvw_ve_skip_rip = store, hvw_ve_skip_len = hv_t_store_next - hv_t_store_insn;
	hvw_invoke_in(1, &r, code, p, 0x4343, 0);
	hvw_ve_skip_rip = 0;
	o[2] = hvw_hits(t) - o[1];
	GEXPECT_EQ(hvw_ve.n, 2), GEXPECT_EQ(hvw_ve.rip, store), GEXPECT_EQ(hvw_ve.gpa, p + 8);
	o[4] += GEXPECT_EQ(hvw_ve.qual & EPTQ_CHECKED, want);
	GEXPECT_EQ(r.gpr[0], 0x4141), GEXPECT_EQ(r.gpr[2], 0x4242), GEXPECT_EQ(o[2], 2); /* no store */
	s64 id2 = rgn_add((void *)c, PAGE_SIZE);
	GEXPECT(id2 >= 0);
	GEXPECT_EQ(hvw_set_ve(1, c, 1), 0);
	GEXPECT_EQ(hvw_set_access(1, c, RW), 0);
	GEXPECT_EQ(hvw_call_in(1, c), 0x600d);
	GEXPECT_EQ(hvw_ve.n, 3), GEXPECT_EQ(hvw_ve.gpa, c), GEXPECT_EQ(hvw_ve.rip, c);
	GEXPECT_EQ(hvw_ve.qual & EPTQ_CHECKED, EPTQ_FETCH | EPTQ_RIGHTS(RW) | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
	o[0] = hvw_ve.n, o[3] = hvw_entries(id2);
	GEXPECT_EQ(o[3], 1);
}

/* A fetch from a region page where the view gives no X is the guest's violation (RESTORE:
 * recorded), not a region entry; the retry (X given back) enters the region. out: 0 records,
 * 1 entries */
void scen_hviews_region_nox(struct hv_boot_info *bi)
{
	u64 c = hvw_const_page(3, 0x600d);
	hvw_view1();
	GEXPECT_EQ(hvw_set_access(1, c, RW), 0);
	s64 id = rgn_add((void *)c, PAGE_SIZE);
	GEXPECT(id >= 0);
	guest_violations_drain();
	GEXPECT_EQ(hvw_call_in(1, c), 0x600d);
	u64 n = guest_violations_read(hvw_recs, HV_VIOLATION_RING);
	if (GEXPECT_EQ(n, 1)) {
		GEXPECT_EQ(hvw_recs[0].action, HV_POLICY_RESTORE), GEXPECT_EQ(hvw_recs[0].gpa, c);
		GEXPECT_EQ(hvw_recs[0].qualification & EPTQ_CHECKED,
			   EPTQ_FETCH | EPTQ_RIGHTS(RW) | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
	}
	bi->out[0] = n, bi->out[1] = hvw_entries(id);
	GEXPECT_EQ(bi->out[1], 1);
	GEXPECT_EQ(hvw_get_access(1, c), RWX);
}

/* ---- composition rules 1, 2 and 7 ---- */

/* GVA monitors added in a view that remaps the page land on the frame that view shows; a
 * second monitor on that frame through the alias is refused. out: 0 hits in view 0 through
 * the page's own frame, 1 hits through the remapped frame (both views), 2 region entries
 * through the page's own frame, 3 through the remapped frame */
void scen_hviews_gva_remap(struct hv_boot_info *bi)
{
	u64 a = guest_page(1, 0), b = guest_page(2, 0), f = hvw_const_page(3, 0x600d), a2 = hvw_const_page(4, 0xbad);
	u64 *o = (u64 *)bi->out;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a2, f), 0);
	vmfunc_eptp_switch(1);
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GVA, a, HV_ACCESS_W);
	s64 id = hc3(HC_REGION_ADD, HV_TRAP_GVA, a2, PAGE_SIZE);
	s64 busy1 = hc3(HC_TRAP_ADD, HV_TRAP_GVA, a2, HV_ACCESS_X);
	s64 busy2 = hc3(HC_REGION_ADD, HV_TRAP_GVA, a, PAGE_SIZE);
	vmfunc_eptp_switch(0);
	if (!GEXPECT(t >= 0 && id >= 0))
		return;
	GEXPECT_EQ(busy1, -HV_EBUSY), GEXPECT_EQ(busy2, -HV_EBUSY);
	GEXPECT_EQ(hvw_trap_gpa(f, HV_ACCESS_W), -HV_EBUSY);
	hvw_wr(a, 1);
	o[0] = hvw_hits(t);
	hvw_wr(b, 2);
	vmfunc_eptp_switch(1);
	hvw_wr(a, 3);
	vmfunc_eptp_switch(0);
	o[1] = hvw_hits(t) - o[0];
	GEXPECT_EQ(hvw_rd(b), 3), GEXPECT_EQ(hvw_rd(a), 1);
	GEXPECT_EQ(hvw_call_in(0, a2), 0xbad);
	o[2] = hvw_entries(id);
	GEXPECT_EQ(hvw_call_in(0, f), 0x600d);
	GEXPECT_EQ(hvw_call_in(1, a2), 0x600d);
	o[3] = hvw_entries(id) - o[2];
	GEXPECT_EQ(o[0], 0), GEXPECT_EQ(o[1], 2), GEXPECT_EQ(o[2], 0), GEXPECT_EQ(o[3], 2);
	s64 t2 = hc3(HC_TRAP_ADD, HV_TRAP_GVA, a, HV_ACCESS_W); /* view 0: a's own frame is free */
	GEXPECT(t2 >= 0);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t2), 0), GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
	rgn_remove(id);
}

/* Removing a monitor gives back exactly what the views give, rights set before the monitor
 * and while it was there: the CPU agrees (no exit where the view allows, the guest's violation
 * where it denies). Pages q and c2 are left for the hypervisor to compare every view's leaf
 * with its rights. out: 0 q, 1 c2, 2 EPT-violation exits where view 0 allows */
void scen_hviews_unmonitor(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), q = guest_page(2, 0), c = hvw_const_page(3, 0x600d), c2 = hvw_const_page(4, 0x600e);
	hvw_view1();
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 2);
	GEXPECT_EQ(hvw_set_access(1, p, HV_ACCESS_R), 0);
	GEXPECT_EQ(hvw_set_access(1, q, HV_ACCESS_R), 0);
	s64 t = hvw_trap_gpa(p, RW), t2 = hvw_trap_gpa(q, RWX);
	s64 id = hc3(HC_REGION_ADD, HV_TRAP_GPA, c, PAGE_SIZE), id2 = hc3(HC_REGION_ADD, HV_TRAP_GPA, c2, PAGE_SIZE);
	GEXPECT(t >= 0 && t2 >= 0 && id >= 0 && id2 >= 0);
	GEXPECT_EQ(hvw_set_access(2, p, RX), 0); /* while monitored */
	GEXPECT_EQ(hvw_set_access(2, q, RX), 0);
	GEXPECT_EQ(hvw_set_access(1, c, RW), 0);
	GEXPECT_EQ(hvw_set_access(1, c2, HV_ACCESS_R), 0);
	GEXPECT_EQ(hvw_set_access(2, c2, RX), 0);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0), GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t2), 0);
	rgn_remove(id), rgn_remove(id2);
	static const u64 want[3][4] = {{RWX, RWX, RWX, RWX}, {HV_ACCESS_R, HV_ACCESS_R, RW, HV_ACCESS_R}, {RX, RX, RWX, RX}};
	u64 pages[4] = {p, q, c, c2}, bad = 0;
	for (u64 v = 0; v < 3; v++)
		for (int i = 0; i < 4; i++)
			bad += hvw_get_access(v, pages[i]) != (s64)want[v][i];
	GEXPECT_EQ(bad, 0);
	guest_violations_drain();
	u64 e0 = hvw_ept_exits();
	hvw_wr(p, 1);
	GEXPECT_EQ(hvw_call_in(0, c), 0x600d);
	bi->out[2] = hvw_ept_exits() - e0;
	GEXPECT_EQ(bi->out[2], 0);
	vmfunc_eptp_switch(1);
	hvw_wr(p, 2);
	vmfunc_eptp_switch(0);
	hvw_one_record(HV_POLICY_RESTORE, p, EPTQ_WRITE, HV_ACCESS_R);
	GEXPECT_EQ(hvw_call_in(1, c), 0x600d);
	hvw_one_record(HV_POLICY_RESTORE, c, EPTQ_FETCH, RW);
	GEXPECT_EQ(hvw_rd(p), 2);
	bi->out[0] = q, bi->out[1] = c2;
}

/* HC_VIEW_GET_ACCESS gives the view's rights, not the leaf's: a trapped page, a region page,
 * an alias of a region frame, a page with #VE on. out: 0 p, 1 c, 2 a */
void scen_hviews_get_access(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), c = hvw_const_page(3, 0x600d), a = guest_page(4, 0);
	hvw_view1();
	GEXPECT_EQ(hvw_set_access(1, p, RX), 0);
	s64 t = hvw_trap_gpa(p, RWX);
	s64 id = hc3(HC_REGION_ADD, HV_TRAP_GPA, c, PAGE_SIZE);
	GEXPECT(t >= 0 && id >= 0);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, c), 0);
	GEXPECT_EQ(hvw_set_ve(1, p, 1), 0);
	GEXPECT_EQ(hvw_get_access(0, p), RWX);
	GEXPECT_EQ(hvw_get_access(1, p), RX);
	GEXPECT_EQ(hvw_get_access(0, c), RWX);
	GEXPECT_EQ(hvw_get_access(1, c), RWX);
	GEXPECT_EQ(hvw_get_access(1, a), RWX);
	GEXPECT_EQ(hvw_get_access(1, a + 0x123), RWX);
	bi->out[0] = p, bi->out[1] = c, bi->out[2] = a;
}
