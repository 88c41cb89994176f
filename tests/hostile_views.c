/* hostile_views.c: the "hostile" cases about views, remaps, monitors and emulated code (issue
 * 11, "Why" item 5, and the composition rules of docs/views.md, "One policy per page"). Each
 * runs one guest scenario of guest/scen_hviews.c, which compares native and emulated runs and
 * makes the guest-side checks; here, what only the hypervisor knows: its counts, its leaves,
 * and after every run the invariant (every leaf as the policy computes it, no step left open,
 * every page given back by vm_destroy). A crash, a hang (the watchdog stops the run) or a
 * guest check that fails fails the case. The cases are listed in suite "hostile". */
#include "suites.h"
#include "hostile.h"

/* As guest/hviews.h defines them: scratch pages hold A_TAG + 1, A_TAG + 2, ... */
#define A_TAG 0xaaaa000000000000UL
#define B_TAG 0xbbbb000000000000UL
#define RX (EPT_R | EPT_X)
#define RW (EPT_R | EPT_W)

static u64 free_before;

/* Run one scenario to a clean HC_EXIT(0); its out[] (the case ends if no VM could be made). */
#define RUN(vm, scenario) (free_before = kalloc_free_count(), ASSERT_SCENARIO_OK(vm, scenario, 0))

/* After every run (rule 8): leaves as the policy computes them, no step open; then every page
 * back. */
static void finish(struct vm *vm)
{
	EXPECT_EQ(policy_check(vm, true), 0);
	EXPECT(!vm->step.open);
	EXPECT_EQ(vm->in_region, 0);
	vm_destroy(vm);
	EXPECT_EQ(kalloc_free_count(), free_before);
}

/* The rights of page gpa's leaf in view v, as the policy computes it. */
static u64 leaf_rights(struct vm *vm, u32 v, u64 gpa) { return policy_leaf(vm, v, gpa / PAGE_SIZE) & EPT_RWX; }

/* Case 1 (rule 5): region code reads (and writes) the frame the current view shows. */
void hostile_region_reads_remapped_frame(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_remap_read");
	kt_diag("view 1 remaps a to b: native read 0x%llx, emulated 0x%llx (%llu entries); view 0: 0x%llx", o[0],
		o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 2 * B_TAG + 3);
	EXPECT_EQ(o[1], o[0]);
	EXPECT_EQ(o[2], 1);
	EXPECT_EQ(o[3], 2 * A_TAG + 3);
	EXPECT_EQ(vm.sh->pol.nremaps[1], 1);
	finish(&vm);
}

/* Case 2 (rules 4, 5): a region store the view denies is the guest's violation, as natively:
 * recorded and retried under RESTORE, a #VE (with the store skipped: it never lands), and
 * through a remap it lands on the frame the view shows. The emulated #VEs are the
 * hypervisor's (the interpreter is not the CPU), the native ones the CPU's where it has #VE. */
void hostile_region_write_denied_by_view(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_denied_write");
	kt_diag("%llu differences native/emulated; records %llu, #VEs %llu; through the remap: landed %llu, on "
		"the page's own frame %llu; #VEs injected %llu",
		o[0], o[1], o[2], o[3], o[4], vm.stats.soft_ve);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 1);
	EXPECT_EQ(o[2], 1);
	EXPECT_EQ(o[3], 1);
	EXPECT_EQ(o[4], 0);
	EXPECT_EQ(vm.stats.soft_ve, vmx_caps.ept_violation_ve ? 2 : 4);
	finish(&vm);
}

/* Case 3 (rule 3): through an alias of a region's frame the code is emulated, never native. */
void hostile_remap_onto_region_frame(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_remap_region");
	kt_diag("entries through the alias: view 1 %llu, view 2 (made after) %llu; alias's own frame %llu; the "
		"frame %llu; EPT exits after removal %llu",
		o[0], o[1], o[2], o[3], o[4]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 1);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[3], 1);
	EXPECT_EQ(o[4], 0);
	finish(&vm);
}

/* Case 4 (rule 3): accesses of the trapped kind through an alias of a trapped frame count. */
void hostile_remap_onto_trapped_frame(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_remap_trap");
	kt_diag("hits through the aliases: write %llu, read %llu, execute %llu; in view 0 %llu", o[0], o[1], o[2],
		o[3]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 1);
	EXPECT_EQ(o[2], 2); /* MOV and RET: one hit per instruction */
	EXPECT_EQ(o[3], 0);
	finish(&vm);
}

/* Rule 7: rights change under a trap and a region; the monitors keep applying. */
void hostile_rights_change_under_monitor(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_rights_monitor");
	EXPECT_EQ(o[1], 2); /* the guest's violation, then the trap's hit */
	EXPECT_EQ(o[2], 2);
	EXPECT_EQ(o[4], 1);
	EXPECT_EQ(view_get_access(&vm, 1, o[0]), RW);
	EXPECT_EQ(leaf_rights(&vm, 1, o[0]), EPT_R); /* the write trap takes W */
	EXPECT_EQ(view_get_access(&vm, 1, o[3]), RX);
	EXPECT_EQ(leaf_rights(&vm, 1, o[3]), EPT_R); /* the region takes X */
	finish(&vm);
}

/* Rule 4: #VE on a monitored page: the guest's #VE for what its view denies (injected by the
 * hypervisor, even where the CPU has #VE: the monitor keeps #VE suppressed in the leaf), from
 * native and from region code, reporting the view's rights; the monitor counts what the view
 * allows. */
void hostile_ve_on_monitored_page(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_ve_monitor");
	kt_diag("%llu #VEs (%llu injected), %llu of 2 with the view's rights; trap hits %llu native, %llu from a "
		"region; %llu region entries",
		o[0], vm.stats.soft_ve, o[4], o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 3);
	EXPECT_EQ(vm.stats.soft_ve, 3);
	EXPECT_EQ(o[1], 2);
	EXPECT_EQ(o[2], 2);
	EXPECT_EQ(o[3], 1);
	EXPECT_EQ(o[4], 2);
	finish(&vm);
}

/* Rule 4: a fetch from a region page the view gives no X is the guest's violation. */
void hostile_region_fetch_without_view_x(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_region_nox");
	kt_diag("%llu violation records, then %llu region entries", o[0], o[1]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 1);
	finish(&vm);
}

/* Rule 2: GVA monitors added in a view that remaps the page land on the remapped frame. */
void hostile_gva_monitor_through_remap(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_gva_remap");
	kt_diag("trap hits: own frame %llu, remapped frame %llu; region entries: own frame %llu, remapped %llu",
		o[0], o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 2);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[3], 2);
	finish(&vm);
}

/* Rule 7: removing a monitor gives back exactly the views' rights, in every view's leaf. */
void hostile_monitor_removal_gives_view_rights(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_unmonitor");
	static const u64 want[3] = {EPT_RWX, EPT_R, RX};
	EXPECT_EQ(o[2], 0);
	for (u32 v = 0; v < 3; v++)
		for (int i = 0; i < 2; i++)
			if (!EXPECT_EQ(leaf_rights(&vm, v, o[i]), want[v]))
				kt_diag("view %u page 0x%llx", v, o[i]);
	for (int i = 0; i < 2; i++)
		EXPECT(!vm.sh->pol.trap[o[i] / PAGE_SIZE] && !vm.sh->pol.region[o[i] / PAGE_SIZE]);
	finish(&vm);
}

/* Rule 1: HC_VIEW_GET_ACCESS is the view's rights, whatever the leaf holds. */
void hostile_get_access_is_the_views(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_get_access");
	u64 p = o[0], c = o[1], a = o[2];
	EXPECT_EQ(view_get_access(&vm, 1, p), RX);
	EXPECT_EQ(leaf_rights(&vm, 1, p), 0); /* a trap on every kind */
	EXPECT_EQ(view_get_access(&vm, 0, c), EPT_RWX);
	EXPECT_EQ(leaf_rights(&vm, 0, c), RW); /* a region */
	EXPECT_EQ(view_get_access(&vm, 1, a), EPT_RWX);
	EXPECT_EQ(leaf_rights(&vm, 1, a), RW); /* an alias of the region's frame */
	EXPECT_EQ(policy_leaf(&vm, 1, a / PAGE_SIZE) & ~0xfffUL & ~EPT_SUPPRESS_VE, (u64)vm.ram + c);
	finish(&vm);
}

/* Case 6 (rule 5): VMFUNC executed by region code (the CPU's in a step, or emulated on #UD);
 * the region's next accesses follow the new view. */
void hostile_vmfunc_inside_region_code(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_vmfunc_region");
	kt_diag("%llu differences native/emulated; %llu region entries (%s VMFUNC)", o[0], o[1],
		vmx_caps.eptp_switching ? "hardware" : "emulated");
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 6); /* per call: in, and again after each VMFUNC */
	finish(&vm);
}

/* Case 6 (rule 5): native VMFUNCs between region calls; each call follows the view. */
void hostile_vmfunc_between_region_calls(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_vmfunc_between");
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 4);
	finish(&vm);
}

/* Case 7 (rule 5): region code rewrites its PTE (INVLPG on the CPU); a page table remapped by
 * the view is walked through the view. */
void hostile_region_rewrites_page_tables(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_pagetables");
	kt_diag("%llu differences native/emulated; read 0x%llx after the PTE change, 0x%llx through view 1's "
		"page table",
		o[0], o[1], o[2]);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], B_TAG);
	EXPECT_EQ(o[2], B_TAG);
	EXPECT_EQ(o[3], 1);
	finish(&vm);
}

/* Case 7: region code that rewrites its own instructions (one already decoded). */
void hostile_region_rewrites_its_code(void)
{
	struct vm vm;
	const unsigned long long *o = RUN(&vm, "hviews_smc");
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 0x11111111 + 2 * 0x01020304);
	EXPECT_EQ(o[2], 16); /* xor mov, 2 x (mov add mov dec jnz), mov mov add ret */
	finish(&vm);
}
