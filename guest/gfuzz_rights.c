/* gfuzz_rights.c: the rights half of the "guest_fuzz" model, and the violation ring. The model
 * keeps the rights each view gives each arena page (HC_VIEW_SET_ACCESS, RWX for a new view, RWX
 * again after a RESTORE record or the fuzzer's #VE handler). The ring is read in time order:
 * after every operation, before the model follows any hypercall, and in the #VE handler. Each
 * record must be for an access the view denies, on a page the fuzzer denied, with the view's
 * rights in its qualification (docs/views.md, rule 4); and an access the view denies must leave a
 * record or raise a #VE: never go through. */
#include "gfuzz.h"

struct hv_violation gf_ring[HV_VIOLATION_RING]; /* the fuzzer's own HC_VIOLATIONS_READ target */
static struct hv_violation drained[HV_VIOLATION_RING];
static struct {
	u8 view, page[2], npages;
} expected[4]; /* accesses the view denies, in this operation */
static u32 nexpected;
static bool seen[HV_VIEW_MAX][GF_NPAGES]; /* guest violations recorded in this operation */
static bool lost;                          /* so many records that some may have been overwritten */
static u32 restorers;                      /* views whose policy was RESTORE when the operation began */

void gf_rights_view(u32 v)
{
	for (u32 p = 0; p < GF_NPAGES; p++)
		gf.rights[v][p] = HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X;
}

/* HC_VIEW_SET_ACCESS(v, gpa, size, access) succeeded. */
void gf_rights_set(u32 v, u64 gpa, u64 size, u64 access)
{
	for (u32 p = 0; p < GF_NPAGES; p++)
		if (gf.gpa[p] >= gpa && gf.gpa[p] - gpa < size)
			gf.rights[v][p] = access;
}

/* The fuzzer's #VE handler gave the page RWX in every live view. */
void gf_rights_restored(u64 gpa)
{
	int p = gf_page_of(gpa);
	for (u32 v = 0; p >= 0 && v < HV_VIEW_MAX; v++)
		if (gf.view_live[v])
			gf.rights[v][p] = HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X;
}

/* One record, in time order; trap hits (action 4) aside, each is the guest's violation. */
static void one_record(const struct hv_violation *r)
{
	int p = gf_page_of(r->gpa);
	u64 access = r->qualification & 7, rights = p >= 0 && r->view < HV_VIEW_MAX ? gf.rights[r->view][p] : 0;
	if (r->view >= HV_VIEW_MAX || r->action > ACTION_TRAP)
		return gf_fail("a violation record with no such view or action (view, action)", r->view, r->action);
	gf.actions[r->action]++;
	if (r->action == ACTION_TRAP)
		return;
	if (p < 0)
		return gf_fail("a violation recorded on a page the fuzzer never denied (gpa, view)", r->gpa, r->view);
	if (!(access & ~rights))
		gf_fail("a violation recorded for an access the view allows (gpa, qualification | view << 32)", r->gpa,
			r->qualification | (u64)r->view << 32);
	else if (((r->qualification >> 3) & 7) != rights)
		gf_fail("a violation record shows other rights than the view's (gpa, qualification | view << 32)",
			r->gpa, r->qualification | (u64)r->view << 32);
	seen[r->view][p] = true;
	if (r->action == HV_POLICY_RESTORE)
		gf.rights[r->view][p] = HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X;
}

/* Records the fuzzer's HC_VIOLATIONS_READ returned into gf_ring. */
void gf_records(u64 n)
{
	for (u64 i = 0; i < n && i < HV_VIOLATION_RING; i++)
		one_record(&gf_ring[i]);
}

/* Read the ring until it is empty. */
void gf_drain(void)
{
	s64 n, total = 0;
	while ((n = hc2(HC_VIOLATIONS_READ, (u64)drained, HV_VIOLATION_RING)) > 0) {
		for (s64 i = 0; i < n; i++)
			one_record(&drained[i]);
		total += n;
		if (n < HV_VIOLATION_RING)
			break;
	}
	if (n < 0)
		gf_fail("HC_VIOLATIONS_READ refused (result)", n, 0);
	lost |= total >= HV_VIOLATION_RING;
}

void gf_denials_begin(void)
{
	memset(seen, 0, sizeof(seen));
	nexpected = 0, lost = false;
	restorers = 0;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		restorers |= gf.view_live[v] && gf.policy[v] == HV_POLICY_RESTORE ? BIT(v) : 0;
}

/* The access of kind (HV_ACCESS_*) the operation is about to make first, to [addr, addr + len)
 * in view v: if the model says the view denies it, a record or a #VE must follow. */
void gf_expect_access(u32 v, u64 addr, u64 len, u32 kind)
{
	int p0 = gf_page_of(addr), p1 = gf_page_of(addr + len - 1);
	if (p0 < 0 || p1 < 0 || nexpected == ARRAY_SIZE(expected))
		return;
	if (!(kind & ~gf.rights[v][p0]) && !(kind & ~gf.rights[v][p1]))
		return;
	expected[nexpected++] = (typeof(expected[0])){.view = v, .page = {p0, p1}, .npages = p0 == p1 ? 1 : 2};
}

/* The ring wrapped during the operation (a trapped page leaves a record per instruction: a loop
 * on an execute-trapped page fills it), so a RESTORE record may be gone, and with it the RWX it
 * gave its page. HC_VIEW_GET_ACCESS returns the rights the policy keeps (docs/views.md, rule 1):
 * the model takes from it the one change a lost record explains, RWX in a view that was or is
 * RESTORE, and calls any other difference a failure. */
static void resync_rights(void)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		bool restore = (restorers & BIT(v)) || gf.policy[v] == HV_POLICY_RESTORE;
		for (u32 p = 0; gf.view_live[v] && p < GF_NPAGES; p++) {
			s64 r = hc2(HC_VIEW_GET_ACCESS, v, gf.gpa[p]);
			if (r == gf.rights[v][p])
				continue;
			if (r != (HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X) || !restore) {
				gf_fail("after lost records, a view gives other rights than the model (gpa, rights | view << 32)",
					gf.gpa[p], (u64)r | (u64)v << 32);
				continue;
			}
			GLOG("gfz %lu:   view %u page 0x%lx: RWX after lost records\n", gf.op, v, gf.gpa[p]);
			gf.rights[v][p] = r;
		}
	}
}

/* After the operation (and the last drain): each denied access left a record, or some #VE came. */
void gf_denials_check(bool ve)
{
	if (lost)
		resync_rights();
	for (u32 i = 0; i < nexpected && !ve && !lost; i++) {
		bool any = seen[expected[i].view][expected[i].page[0]] ||
			   (expected[i].npages == 2 && seen[expected[i].view][expected[i].page[1]]);
		if (!any)
			gf_fail("the view denies the access, yet no violation and no #VE (gpa, view)",
				gf.gpa[expected[i].page[0]], expected[i].view);
	}
}
