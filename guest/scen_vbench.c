/* scen_vbench.c: "bench_views", what a view switch and an EPT violation cost the guest, in
 * TSC cycles and VM exits: (a) VMFUNC switches, (b) HC_VIEW_SWITCH switches, (c) violations
 * delivered as #VE (the handler leaves for view 0 by VMFUNC), (d) the same violations as VM
 * exits (view 1's policy switches to view 0). HC_GET_STATS brackets each timed loop. */
#include "guest.h"

#define N 1000
#define BENCH_PAGES (16 * MiB) /* N pages from here: 2 MiB guest pages, supervisor RW */
#define BENCH_BYTES (4 * MiB)

static struct hv_exit_stats stats;

struct lap {
	u64 e0, t0;
};

static void lap_start(struct lap *l)
{
	l->e0 = guest_exits(&stats);
	l->t0 = rdtsc();
}

/* Stores cycles and exits (the closing HC_GET_STATS not counted) in out[0], out[1]. */
static void lap_end(struct lap *l, unsigned long long *out, const char *what)
{
	u64 t1 = rdtsc(), e1 = guest_exits(&stats);
	out[0] = t1 - l->t0;
	out[1] = e1 - l->e0 - 1;
	guest_printf("bench_views: %s: %lu cycles each, %llu exits for N=%d\n", what, (t1 - l->t0) / N,
		     out[1], N);
}

static u64 page(int i) { return BENCH_PAGES + (u64)i * PAGE_SIZE; }

/* (c) and (d): switch to view 1, read page i (a violation there), back in view 0 by then. */
static u64 violation_loop(void)
{
	u64 bad = 0;
	for (int i = 0; i < N; i++) {
		vmfunc_eptp_switch(1);
		bad += *(volatile u64 *)page(i) != (u64)i;
	}
	return bad;
}

/* Pages in view 1: no access, #VE on or off. */
static void arm_pages(bool ve)
{
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, BENCH_PAGES, BENCH_BYTES, 0), 0);
	GEXPECT_EQ(hc4(HC_VIEW_SET_VE, 1, BENCH_PAGES, BENCH_BYTES, ve), 0);
}

void scen_bench_views(struct hv_boot_info *bi)
{
	struct lap l;
	unsigned long long *o = bi->out;
	GEXPECT_EQ(guest_ve_setup(), 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	for (int i = 0; i < N; i++)
		*(volatile u64 *)page(i) = i;
	o[0] = N;
	lap_start(&l);
	for (int i = 0; i < N / 2; i++)
		vmfunc_eptp_switch(1), vmfunc_eptp_switch(0);
	lap_end(&l, &o[1], "VMFUNC switch");
	s64 bad = 0;
	lap_start(&l);
	for (int i = 0; i < N / 2; i++)
		bad += hc1(HC_VIEW_SWITCH, 1) != 0, bad += hc1(HC_VIEW_SWITCH, 0) != 1;
	lap_end(&l, &o[3], "HC_VIEW_SWITCH");
	GEXPECT_EQ(bad, 0);

	arm_pages(true);
	guest_ve_set_action(guest_ve_to_view0, true);
	u64 ves = guest_ve_count;
	lap_start(&l);
	bad = violation_loop();
	lap_end(&l, &o[5], "violation as #VE");
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(guest_ve_count - ves, N);

	arm_pages(false);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_SWITCH, 0), 0);
	ves = guest_ve_count;
	lap_start(&l);
	bad = violation_loop();
	lap_end(&l, &o[7], "violation as VM exit");
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(guest_ve_count, ves);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 0);
}
