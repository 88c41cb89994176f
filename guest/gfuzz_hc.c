/* gfuzz_hc.c: the hypercalls of "guest_fuzz". Arguments come from boundary values (0, 1, -1,
 * unaligned, the end of RAM, beyond it, huge, non-canonical) and from the fuzzer's live objects.
 * A safety filter turns a call that would succeed on the guest's own pages into one that is
 * refused (the guest must keep running: only arena pages are denied, remapped, trapped or made
 * regions; only the fuzzer's buffers are written). gf_predict() says what the hypervisor must
 * return, from the ABI (vmm/hypercall.h, docs/hypercalls.md) and the model; gf_apply() follows
 * the hypervisor's answer into the model. Nothing here touches the CPU state. */
#include "gfuzz.h"

#define RWX (HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X)

/* The only guest memory the fuzzer lets a hypercall write. */
static struct hv_exit_stats st_buf;
static struct hv_region_stats rs_buf;
static struct hv_access log_buf[HV_REGION_LOG];
static u64 gva_frames[GF_REGION_PAGES]; /* gf_predict's frames (page numbers) for gf_apply */
static u32 gva_nframes;

/* Weights of the hypercall numbers (HC_NR: an unknown number). */
static const u8 nr_weight[HC_NR + 1] = {
	[HC_VERSION] = 1, [HC_GET_STATS] = 1, [HC_VMXOFF] = 1, [HC_CHECK] = 1,
	[HC_VIEW_CREATE] = 6, [HC_VIEW_DESTROY] = 5, [HC_VIEW_SET_ACCESS] = 12, [HC_VIEW_GET_ACCESS] = 2,
	[HC_VIEW_REMAP] = 8, [HC_VIEW_SET_VE] = 8, [HC_VIEW_SWITCH] = 4, [HC_VE_REGISTER] = 2,
	[HC_VIEW_SET_POLICY] = 4, [HC_VIOLATIONS_READ] = 2, [HC_TRAP_ADD] = 8, [HC_TRAP_REMOVE] = 3,
	[HC_TRAP_HITS] = 4, [HC_REGION_ADD] = 8, [HC_REGION_REMOVE] = 3, [HC_REGION_STATS] = 2,
	[HC_REGION_LOG] = 2, [HC_REGION_LOG_READ] = 2, [HC_NR] = 2,
};

u64 gf_pick_nr(int cpl)
{
	u32 total = cpl ? 1 : 0, r;
	for (u32 i = 0; i <= HC_NR; i++)
		total += nr_weight[i];
	r = gf_below(total);
	for (u32 i = 0; i <= HC_NR; i++) {
		if (r < nr_weight[i])
			return i == HC_NR ? (gf_below(2) ? HC_NR + gf_below(8) : gf_rand() | BIT(40)) : i;
		r -= nr_weight[i];
	}
	return HC_EXIT; /* CPL 3 only: refused there */
}

/* ---- argument generators ---- */

static u64 junk(void)
{
	const u64 ram = gf.ram_size;
	const u64 v[] = {0, 1, ~0UL, 4095, 4096, ram, ram - 4096, ram + 4096, 1UL << 32, 1UL << 63, -4096UL, 16, 32,
			 1UL << 40, 0x7fffffffffffffffUL};
	return gf_below(5) ? v[gf_below(ARRAY_SIZE(v))] : gf_rand();
}

static u64 live_view(void)
{
	u32 n = 0, pick;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		n += gf.view_live[v];
	pick = gf_below(n);
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (gf.view_live[v] && pick-- == 0)
			return v;
	return 0;
}

/* A view whose policy is SWITCH (or a live one): a denial there moves the vCPU. */
static u64 switch_view(void)
{
	for (int i = 0; i < 8; i++) {
		u64 v = live_view();
		if (gf.policy[v] == HV_POLICY_SWITCH)
			return v;
	}
	return live_view();
}

static u64 gen_view(void)
{
	u64 r = gf_below(100);
	if (r < 35)
		return gf.cur;
	if (r < 75)
		return live_view();
	if (r < 82)
		return gf_below(HV_VIEW_MAX);
	if (r < 87)
		return HV_VIEW_MAX;
	if (r < 91)
		return ~0UL;
	if (r < 95)
		return BIT(40) | gf_below(HV_VIEW_MAX);
	return junk();
}

static u64 gen_addr(void)
{
	u64 r = gf_below(100), p = gf.gpa[gf_below(GF_NPAGES)];
	if (r < 55)
		return p;
	if (r < 62)
		return p + 1 + gf_below(PAGE_SIZE - 1);
	if (r < 66) /* a free page, or the last page of the guest's own */
		return gf_below(8) ? GF_OWN_END + gf_below((gf.ram_size - GF_OWN_END) / PAGE_SIZE) * PAGE_SIZE
				   : GF_OWN_END - PAGE_SIZE;
	if (r < 70)
		return gf.ram_size;
	if (r < 73)
		return gf.ram_size + PAGE_SIZE;
	if (r < 76)
		return GF_UNMAPPED;
	if (r < 82)
		return GF_ALIAS_GVA + gf_below(GF_NC) * PAGE_SIZE;
	return junk();
}

static u64 gen_size(void)
{
	const u64 v[] = {0, 4095, gf.ram_size, -4096UL, 1UL << 32, 65 * 4096, 2 * MiB, 2 * MiB + 4096};
	u64 r = gf_below(100);
	if (r < 45)
		return PAGE_SIZE;
	if (r < 60)
		return 2 * PAGE_SIZE;
	if (r < 70)
		return (2 + gf_below(3)) * PAGE_SIZE;
	return gf_below(4) ? v[gf_below(ARRAY_SIZE(v))] : junk();
}

static u64 gen_access(void)
{
	static const u8 valid[] = {0, HV_ACCESS_R, HV_ACCESS_R | HV_ACCESS_W, HV_ACCESS_R | HV_ACCESS_X, 7, HV_ACCESS_X};
	u64 r = gf_below(100);
	return r < 70 ? valid[gf_below(ARRAY_SIZE(valid))] : r < 88 ? gf_below(8) : gf_below(2) ? 8 + gf_below(8) : junk();
}
static u64 gen_kind(void) { return gf_below(100) < 90 ? gf_below(2) : gf_below(2) ? 2 : junk(); }
static u64 gen_buf(u64 buf)
{
	const u64 v[] = {buf + 4, gf.ram_size - 8, gf.ram_size, -8UL};
	return gf_below(100) < 75 ? buf : gf_below(4) ? v[gf_below(ARRAY_SIZE(v))] : junk();
}

/* A live id (when there is one) most of the time, else anything. */
static u64 gen_id(bool trap)
{
	u32 max = trap ? GF_TRAP_MAX : HV_REGION_MAX, n = 0, ids[GF_TRAP_MAX];
	for (u32 i = 0; i < max; i++)
		if (trap ? gf.trap[i].live : gf.rgn[i].live)
			ids[n++] = i;
	u64 r = gf_below(100);
	if (r < 65 && n)
		return ids[gf_below(n)];
	if (r < 85)
		return gf_below(max);
	return r < 92 ? max : junk();
}

/* A remap inside one class (or back to itself), or boundary values. */
static void gen_remap(u64 *a)
{
	static const u8 classes[][4] = {{PG_D0, 10}, {PG_C0, 5}, {PG_F0, 3}};
	a[0] = gen_view();
	if (gf_below(100) < 75) {
		const u8 *c = classes[gf_below(3)];
		u32 p = c[0] + gf_below(c[1]), q = gf_below(5) ? c[0] + gf_below(c[1]) : p;
		a[1] = gf.gpa[p], a[2] = gf.gpa[q];
	} else {
		a[1] = gen_addr(), a[2] = gen_addr();
	}
}

void gf_gen_args(u64 nr, u64 *a)
{
	for (int i = 0; i < 5; i++)
		a[i] = 0;
	switch (nr) {
	case HC_GET_STATS:
		a[0] = gen_buf((u64)&st_buf);
		a[1] = gf_below(4) ? sizeof(st_buf) : gf_below(2) ? sizeof(st_buf) - 8 + gf_below(80) : junk();
		return;
	case HC_VMXOFF:
		a[0] = gf_below(2) ? HC_VMXOFF_MAGIC ^ 1 : junk();
		return;
	case HC_CHECK:
		a[0] = gf_below(2), a[1] = __LINE__, a[2] = gen_buf((u64)&st_buf);
		a[3] = gf_below(2) ? 0 : gf_below(2) ? HC_CHECK_TEXT_MAX + 1 : 8;
		return;
	case HC_VIEW_DESTROY:
	case HC_VIEW_SWITCH:
		a[0] = gen_view();
		return;
	case HC_VIEW_SET_ACCESS:
	case HC_VIEW_SET_VE:
		a[0] = gf_below(4) ? gen_view() : switch_view(), a[1] = gen_addr(), a[2] = gen_size();
		a[3] = nr == HC_VIEW_SET_VE ? (gf_below(100) < 90 ? gf_below(100) < 70 : junk()) : gen_access();
		if (gf_below(100) < 20) /* all the data pages */
			a[1] = gf.gpa[PG_D0], a[2] = GF_ND * PAGE_SIZE;
		else if (gf_below(100) < 3) /* the whole of RAM (made harmless by the filter) */
			a[1] = 0, a[2] = gf.ram_size;
		return;
	case HC_VIEW_GET_ACCESS:
		a[0] = gen_view(), a[1] = gen_addr();
		return;
	case HC_VIEW_REMAP:
		return gen_remap(a);
	case HC_VE_REGISTER:
		a[0] = gf_below(100) < 70 ? gf.gpa[PG_V0 + gf_below(2)] : gen_addr();
		return;
	case HC_VIEW_SET_POLICY:
		a[0] = gen_view();
		a[1] = gf_below(100) < 55 ? HV_POLICY_RESTORE : gf_below(6) ? HV_POLICY_SWITCH : gf_below(2) ? HV_POLICY_STOP : junk();
		a[2] = gf_below(100) < 80 ? live_view() : gen_view();
		return;
	case HC_VIOLATIONS_READ:
		a[0] = gen_buf((u64)gf_ring), a[1] = gf_below(100) < 85 ? gf_below(HV_VIOLATION_RING + 1) : junk();
		return;
	case HC_TRAP_ADD:
		a[0] = gen_kind(), a[1] = gen_addr(), a[2] = gf_below(100) < 85 ? 1 + gf_below(7) : junk();
		return;
	case HC_TRAP_REMOVE:
	case HC_TRAP_HITS:
		a[0] = gen_id(true);
		return;
	case HC_REGION_ADD:
		a[0] = gen_kind();
		a[1] = gf_below(100) < 60 ? (gf_below(4) ? gf.gpa[PG_C0 + gf_below(GF_NC)]
							: GF_ALIAS_GVA + gf_below(GF_NC) * PAGE_SIZE)
					  : gen_addr();
		a[2] = gf_below(100) < 60 ? PAGE_SIZE : gf_below(3) ? 2 * PAGE_SIZE : gen_size();
		return;
	case HC_REGION_REMOVE:
		a[0] = gen_id(false);
		return;
	case HC_REGION_STATS:
		a[0] = gen_id(false), a[1] = gen_buf((u64)&rs_buf);
		return;
	case HC_REGION_LOG:
		a[0] = gen_id(false), a[1] = gf_below(100) < 85 ? gf_below(2) : junk();
		return;
	case HC_REGION_LOG_READ:
		a[0] = gen_id(false), a[1] = gen_buf((u64)log_buf);
		a[2] = gf_below(100) < 85 ? gf_below(HV_REGION_LOG + 1) : gf_below(2) ? HV_REGION_LOG + 1 : junk();
		return;
	case HC_VERSION:
	case HC_VIEW_CREATE:
	case HC_EXIT:
		return;
	default:
		for (int i = 0; i < 5; i++)
			a[i] = junk();
	}
}

/* ---- what the ABI says ---- */

static bool in_ram(u64 gpa, u64 size) { return gpa < gf.ram_size && size <= gf.ram_size - gpa; }
static bool view_ok(u64 v) { return v < HV_VIEW_MAX && gf.view_live[v]; }
static bool access_ok(u64 a)
{
	if ((a & ~7UL) || ((a & HV_ACCESS_W) && !(a & HV_ACCESS_R)))
		return false;
	return a != HV_ACCESS_X || gf.xo;
}
static s64 range_err(u64 gpa, u64 size)
{
	if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || size == 0)
		return -HV_EINVAL;
	return in_ram(gpa, size) ? 0 : -HV_EFAULT;
}

/* The guest's own page tables: RAM identity-mapped but page 0, the code aliases. */
static bool gva_to_gpa(u64 gva, u64 *gpa)
{
	if (gva >= GF_ALIAS_GVA && gva < GF_ALIAS_GVA + GF_NC * PAGE_SIZE) {
		*gpa = gf.gpa[PG_C0 + (gva - GF_ALIAS_GVA) / PAGE_SIZE] + (gva & (PAGE_SIZE - 1));
		return true;
	}
	*gpa = gva;
	return gva >= PAGE_SIZE && gva < gf.ram_size;
}

/* The frame (page number) guest page pfn shows in view v. */
static u64 frame_pfn(u32 v, u64 pfn)
{
	int p = gf_page_of(pfn * PAGE_SIZE);
	return p < 0 ? pfn : gf.gpa[gf_frame(v, p)] / PAGE_SIZE;
}

/* The same in every view the vCPU may be in (a SWITCH chain from the current one)? */
static bool frame_certain(u64 pfn)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (v != gf.cur && gf_chain_has(gf.cur, v) && frame_pfn(v, pfn) != frame_pfn(gf.cur, pfn))
			return false;
	return true;
}

/* Pages the fuzzer may deny and monitor: page 0 and everything from 4 MiB (the guest image,
 * its stacks and page tables end below 4 MiB, guest.ld), where the arena is. */
static bool safe_pfn(u64 pfn)
{
	u64 a = pfn * PAGE_SIZE;
	return a == 0 || (a >= GF_OWN_END && a < gf.ram_size);
}

static bool range_safe(u64 gpa, u64 size)
{
	for (u64 a = gpa; a < gpa + size; a += PAGE_SIZE)
		if (!safe_pfn(a / PAGE_SIZE))
			return false;
	return true;
}

static s64 first_free(bool trap)
{
	for (u32 i = 0; i < (trap ? GF_TRAP_MAX : HV_REGION_MAX); i++)
		if (!(trap ? gf.trap[i].live : gf.rgn[i].live))
			return i;
	return -HV_ENOSPC;
}

/* A frame of kind (GPA/GVA) addr: the page number, or -errno. uncertain: not the same in
 * every view the vCPU may be in. */
static s64 frame_of(u64 kind, u64 addr, bool *uncertain)
{
	u64 gpa = addr;
	if (kind == HV_TRAP_GVA && !gva_to_gpa(addr, &gpa))
		return -HV_EFAULT;
	if (gpa >= gf.ram_size)
		return -HV_EFAULT;
	if (kind == HV_TRAP_GPA)
		return gpa / PAGE_SIZE;
	*uncertain |= !frame_certain(gpa / PAGE_SIZE);
	return frame_pfn(gf.cur, gpa / PAGE_SIZE);
}

static s64 p_trap_add(const u64 *a, bool *uncertain)
{
	if (a[0] > HV_TRAP_GVA || a[2] == 0 || (a[2] & ~7UL))
		return -HV_EINVAL;
	s64 f = frame_of(a[0], a[1], uncertain);
	if (f < 0)
		return f;
	gva_frames[0] = f, gva_nframes = 1;
	if (gf.mon_trap[f] || gf.mon_rgn[f])
		return -HV_EBUSY;
	return first_free(true);
}

static s64 p_region_add(const u64 *a, bool *uncertain)
{
	if (a[0] > HV_TRAP_GVA || a[2] == 0 || !IS_ALIGNED(a[1] | a[2], PAGE_SIZE) ||
	    a[2] / PAGE_SIZE > GF_REGION_PAGES || a[1] + a[2] < a[1])
		return -HV_EINVAL;
	gva_nframes = a[2] / PAGE_SIZE;
	for (u32 i = 0; i < gva_nframes; i++) {
		s64 f = frame_of(a[0], a[1] + (u64)i * PAGE_SIZE, uncertain);
		if (f < 0)
			return f;
		gva_frames[i] = f;
		if (gf.mon_trap[f] || gf.mon_rgn[f])
			return -HV_EBUSY;
		for (u32 j = 0; j < i; j++)
			if (gva_frames[j] == (u64)f)
				return -HV_EINVAL;
	}
	return first_free(false);
}

static s64 p_view_destroy(u64 v)
{
	if (v == 0 || !view_ok(v))
		return -HV_EINVAL;
	if (v == gf.cur)
		return -HV_EBUSY;
	for (u32 o = 0; o < HV_VIEW_MAX; o++)
		if (gf.view_live[o] && gf.policy[o] == HV_POLICY_SWITCH && gf.parg[o] == v)
			return -HV_EBUSY;
	return 0;
}

static s64 p_view_create(void)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (!gf.view_live[v])
			return v;
	return -HV_ENOSPC;
}

static struct gf_expect exact(s64 v) { return (struct gf_expect){EXP_EXACT, v, v}; }
static struct gf_expect range(s64 lo, s64 hi) { return (struct gf_expect){EXP_RANGE, lo, hi}; }

/* Calls with a buffer: -errno, or (0) the call may write max bytes there. */
static s64 buf_err(u64 gpa, u64 bytes) { return !IS_ALIGNED(gpa, 8) ? -HV_EINVAL : in_ram(gpa, bytes) ? 0 : -HV_EFAULT; }

static struct gf_expect p_views(u64 nr, const u64 *a)
{
	s64 e;
	switch (nr) {
	case HC_VIEW_CREATE:
		return exact(p_view_create());
	case HC_VIEW_DESTROY:
		return exact(p_view_destroy(a[0]));
	case HC_VIEW_SET_ACCESS:
		return exact(!view_ok(a[0]) || !access_ok(a[3]) ? -HV_EINVAL : range_err(a[1], a[2]));
	case HC_VIEW_SET_VE:
		return exact(!view_ok(a[0]) || a[3] > 1 ? -HV_EINVAL : range_err(a[1], a[2]));
	case HC_VIEW_GET_ACCESS:
		return !view_ok(a[0]) ? exact(-HV_EINVAL) : a[1] >= gf.ram_size ? exact(-HV_EFAULT) : range(0, 7);
	case HC_VIEW_REMAP:
		if (!view_ok(a[0]) || !IS_ALIGNED(a[1] | a[2], PAGE_SIZE))
			return exact(-HV_EINVAL);
		return exact(in_ram(a[1], PAGE_SIZE) && in_ram(a[2], PAGE_SIZE) ? 0 : -HV_EFAULT);
	case HC_VIEW_SWITCH:
		return view_ok(a[0]) ? (struct gf_expect){EXP_CHAIN, gf.cur, 0} : exact(-HV_EINVAL);
	case HC_VE_REGISTER:
		return exact(!IS_ALIGNED(a[0], PAGE_SIZE) ? -HV_EINVAL : in_ram(a[0], PAGE_SIZE) ? 0 : -HV_EFAULT);
	case HC_VIEW_SET_POLICY:
		e = !view_ok(a[0]) || a[1] > HV_POLICY_SWITCH || (a[1] == HV_POLICY_SWITCH && !view_ok(a[2]));
		return exact(e ? -HV_EINVAL : 0);
	case HC_VIOLATIONS_READ:
		if (!IS_ALIGNED(a[0], 8) || a[1] > HV_VIOLATION_RING)
			return exact(-HV_EINVAL);
		e = buf_err(a[0], a[1] * sizeof(struct hv_violation));
		return e ? exact(e) : range(0, a[1]);
	}
	return exact(-HV_ENOSYS);
}

static bool trap_ok(u64 t) { return t < GF_TRAP_MAX && gf.trap[t].live; }
static bool rgn_ok(u64 r) { return r < HV_REGION_MAX && gf.rgn[r].live; }

static struct gf_expect p_monitors(u64 nr, const u64 *a, int in_rgn, bool *uncertain)
{
	s64 e;
	switch (nr) {
	case HC_TRAP_ADD:
		return exact(p_trap_add(a, uncertain));
	case HC_TRAP_REMOVE:
		return exact(trap_ok(a[0]) ? 0 : -HV_EINVAL);
	case HC_TRAP_HITS:
		if (!trap_ok(a[0]))
			return exact(-HV_EINVAL);
		if (gf.trap[a[0]].exact)
			return range(gf.trap[a[0]].hits, gf.trap[a[0]].hits + gf.trap[a[0]].slack);
		return range(gf.trap[a[0]].hits, BIT(62));
	case HC_REGION_ADD:
		return exact(p_region_add(a, uncertain));
	case HC_REGION_REMOVE:
		if (!rgn_ok(a[0]))
			return exact(-HV_EINVAL);
		if (in_rgn < 0) /* not sure whether the call is made from inside it */
			return (struct gf_expect){EXP_ONE_OF, 0, -HV_EBUSY};
		return exact((u64)in_rgn == a[0] + 1 ? -HV_EBUSY : 0);
	case HC_REGION_STATS:
		e = !rgn_ok(a[0]) ? -HV_EINVAL : buf_err(a[1], sizeof(struct hv_region_stats));
		return exact(e ? e : (s64)sizeof(struct hv_region_stats));
	case HC_REGION_LOG:
		return exact(!rgn_ok(a[0]) || a[1] > 1 ? -HV_EINVAL : 0);
	case HC_REGION_LOG_READ:
		if (!rgn_ok(a[0]) || !IS_ALIGNED(a[1], 8) || a[2] > HV_REGION_LOG)
			return exact(-HV_EINVAL);
		e = buf_err(a[1], a[2] * sizeof(struct hv_access));
		return e ? exact(e) : range(0, a[2]);
	}
	return exact(-HV_ENOSYS);
}

/* What call nr with arguments a must return when made at cpl, from inside region in_rgn - 1
 * (0: none, -1: not known). */
struct gf_expect gf_predict(u64 nr, const u64 *a, int cpl, int in_rgn)
{
	bool uncertain = false;
	s64 e;
	if (nr == HC_VERSION)
		return exact(HV_ABI_VERSION);
	if (nr == HC_CHECK) {
		e = a[3] == 0 || a[3] > HC_CHECK_TEXT_MAX ? -HV_EINVAL : in_ram(a[2], a[3]) ? 0 : -HV_EFAULT;
		return exact(e);
	}
	if (cpl)
		return exact(-HV_EPERM);
	if (nr >= HC_NR)
		return exact(-HV_ENOSYS);
	if (nr == HC_VMXOFF)
		return exact(a[0] == HC_VMXOFF_MAGIC ? 0 : -HV_EINVAL);
	if (nr == HC_GET_STATS) {
		e = !IS_ALIGNED(a[0], 8) || a[1] < sizeof(st_buf) ? -HV_EINVAL : in_ram(a[0], a[1]) ? 0 : -HV_EFAULT;
		return exact(e ? e : (s64)sizeof(st_buf));
	}
	if (nr >= HC_TRAP_ADD)
		return p_monitors(nr, a, in_rgn, &uncertain);
	return p_views(nr, a);
}

bool gf_expect_ok(struct gf_expect e, s64 r)
{
	if (e.how == EXP_RANGE)
		return r >= e.a && r <= e.b;
	if (e.how == EXP_CHAIN) /* HC_VIEW_SWITCH: the view it was in */
		return r >= 0 && gf_chain_has(e.a, r);
	return r == e.a || (e.how == EXP_ONE_OF && r == e.b);
}

/* ---- the safety filter ---- */

/* Would a (successful) call act on something other than the fuzzer's own? Then it is made to
 * fail: a view that does not exist, an unaligned address, an empty size or no access. */
void gf_sanitize(u64 nr, u64 *a)
{
	bool unc = false;
	struct gf_expect e = gf_predict(nr, a, 0, 0);
	bool ok = e.how != EXP_EXACT || e.a >= 0;
	if (nr == HC_VMXOFF && a[0] == HC_VMXOFF_MAGIC)
		a[0] ^= 1;
	if (!ok)
		return;
	switch (nr) {
	case HC_CHECK:
		a[3] = 0; /* a valid check would count in the KTAP case */
		return;
	case HC_VIEW_SET_ACCESS:
		if (a[3] != RWX && !range_safe(a[1], a[2]))
			a[1] |= 1;
		return;
	case HC_VIEW_REMAP: {
		int p = gf_page_of(a[1]), q = gf_page_of(a[2]);
		bool same = p >= 0 && q >= 0 && gf_class(p) == gf_class(q) && gf_class(p) != CLS_VE;
		if (a[1] != a[2] && !same)
			a[1] |= 1;
		return;
	}
	case HC_VE_REGISTER:
		if (a[0] != gf.gpa[PG_V0] && a[0] != gf.gpa[PG_V1])
			a[0] |= 1;
		return;
	case HC_VIEW_SET_POLICY:
		if (a[1] == HV_POLICY_STOP || (a[0] == 0 && a[1] != HV_POLICY_RESTORE) ||
		    (a[1] == HV_POLICY_SWITCH && a[2] >= a[0]))
			a[0] |= BIT(40); /* never STOP; SWITCH chains only go down, to view 0 at last */
		return;
	case HC_GET_STATS:
		if (a[0] != (u64)&st_buf)
			a[0] |= 4;
		return;
	case HC_VIOLATIONS_READ:
		if (a[0] != (u64)gf_ring)
			a[0] |= 4;
		return;
	case HC_REGION_STATS:
		if (a[1] != (u64)&rs_buf)
			a[1] |= 4;
		return;
	case HC_REGION_LOG_READ:
		if (a[1] != (u64)log_buf)
			a[1] |= 4;
		return;
	case HC_TRAP_ADD:
	case HC_REGION_ADD:
		e = nr == HC_TRAP_ADD ? exact(p_trap_add(a, &unc)) : exact(p_region_add(a, &unc));
		for (u32 i = 0; e.a >= 0 && i < gva_nframes; i++)
			unc |= !safe_pfn(gva_frames[i]);
		if (e.a >= 0 && unc)
			a[2] = 0; /* no access / empty: -EINVAL */
		return;
	}
}

/* ---- the model follows the hypervisor ---- */

void gf_policy_for_new_view(u32 v)
{
	u32 lower = gf_below(v);
	bool sw = gf_below(100) < 55 && gf.view_live[lower];
	u64 pol = sw ? HV_POLICY_SWITCH : HV_POLICY_RESTORE;
	s64 r = hc3(HC_VIEW_SET_POLICY, v, pol, sw ? lower : 0);
	if (r)
		gf_fail("HC_VIEW_SET_POLICY on a new view", v, r);
	gf.policy[v] = pol, gf.parg[v] = sw ? lower : 0;
}

static void apply_views(u64 nr, const u64 *a, s64 r)
{
	if (nr == HC_VIEW_CREATE && r >= 0 && r < HV_VIEW_MAX) {
		gf.view_live[r] = true, gf.policy[r] = HV_POLICY_STOP;
		for (u32 p = 0; p < GF_NPAGES; p++)
			gf.remap[r][p] = p;
		gf_rights_view(r);
		gf_policy_for_new_view(r);
	} else if (nr == HC_VIEW_DESTROY && r == 0) {
		gf.view_live[a[0]] = false;
	} else if (nr == HC_VIEW_SET_ACCESS && r == 0) {
		gf_rights_set(a[0], a[1], a[2], a[3]);
	} else if (nr == HC_VIEW_SWITCH && r >= 0) {
		gf.cur = a[0];
	} else if (nr == HC_VIEW_REMAP && r == 0) {
		int p = gf_page_of(a[1]), q = gf_page_of(a[2]);
		if (p >= 0 && q >= 0)
			gf.remap[a[0]][p] = q;
	} else if (nr == HC_VIEW_SET_POLICY && r == 0) {
		gf.policy[a[0]] = a[1], gf.parg[a[0]] = a[2];
	} else if (nr == HC_VE_REGISTER && r == 0) {
		gf.ve_gpa = a[0];
	}
}

static void apply_monitors(u64 nr, const u64 *a, s64 r)
{
	if (nr == HC_TRAP_ADD && r >= 0 && r < GF_TRAP_MAX) {
		u64 f = gva_frames[0];
		int p = gf_page_of(f * PAGE_SIZE);
		gf.trap[r] = (struct gf_trap){.live = true, .exact = p >= 0 && gf_class(p) == CLS_DATA, .pfn = f,
					      .access = a[2]};
		gf.mon_trap[f] = r + 1;
	} else if (nr == HC_TRAP_REMOVE && r == 0) {
		gf.mon_trap[gf.trap[a[0]].pfn] = 0;
		gf.trap[a[0]].live = false;
	} else if (nr == HC_TRAP_HITS && r >= 0 && trap_ok(a[0])) {
		gf.trap[a[0]].hits = r, gf.trap[a[0]].slack = 0;
		gf.hits_checked++;
	} else if (nr == HC_REGION_ADD && r >= 0 && r < HV_REGION_MAX) {
		gf.rgn[r] = (struct gf_region){.live = true, .npages = gva_nframes};
		for (u32 i = 0; i < gva_nframes; i++)
			gf.rgn[r].pfn[i] = gva_frames[i], gf.mon_rgn[gva_frames[i]] = r + 1;
	} else if (nr == HC_REGION_REMOVE && r == 0) {
		for (u32 i = 0; i < gf.rgn[a[0]].npages; i++)
			gf.mon_rgn[gf.rgn[a[0]].pfn[i]] = 0;
		gf.rgn[a[0]].live = false;
	}
}

/* What a call wrote must make sense: an access log entry has a size and a kind. (Violation
 * records are checked in time order by gfuzz_rights.c.) */
static void check_records(u64 nr, s64 r)
{
	for (s64 i = 0; nr == HC_REGION_LOG_READ && i < r; i++) {
		const struct hv_access *l = &log_buf[i];
		if (l->size == 0 || l->size > 64 || (l->kind != HV_ACCESS_R && l->kind != HV_ACCESS_W && l->kind != HV_ACCESS_X))
			gf_fail("an access log entry with no such size or kind (size, kind)", l->size, l->kind);
	}
}

/* After call nr returned r (gf_predict ran just before, for the frames). Refused calls and
 * calls at CPL 3 change nothing. */
void gf_apply(u64 nr, const u64 *a, s64 r, int cpl)
{
	if (cpl && nr != HC_VERSION)
		return;
	check_records(nr, r);
	if (nr >= HC_TRAP_ADD && nr < HC_NR)
		apply_monitors(nr, a, r);
	else if (nr >= HC_VIEW_CREATE && nr < HC_NR)
		apply_views(nr, a, r);
}

/* Every trap whose hits the fuzzer counted: HC_TRAP_HITS must agree. */
void gf_check_hits(void)
{
	for (u32 t = 0; t < GF_TRAP_MAX; t++) {
		if (!gf.trap[t].live || !gf.trap[t].exact)
			continue;
		s64 r = hc1(HC_TRAP_HITS, t);
		gf.hits_checked++;
		if (r < (s64)gf.trap[t].hits || r > (s64)(gf.trap[t].hits + gf.trap[t].slack))
			gf_fail("trap hits differ from the fuzzer's count (trap, hits)", t, r);
		gf.trap[t].hits = r, gf.trap[t].slack = 0;
	}
}
