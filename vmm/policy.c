/* policy.c: the one owner of guest-physical page policy. It keeps, per view and page, the rights
 * and #VE setting the guest gave and the frame the page shows (remaps); per frame, the region or
 * trap that monitors it; and the single step's temporary rights. Every EPT leaf of every view is
 * computed from that by policy_leaf() and written only here (through ept.c), and every change
 * ends in policy_flush(): INVEPT for each view whose leaves changed (the place where an SMP
 * hypervisor would also shoot down the other CPUs' translations). Composition rules:
 * docs/views.md, "One policy per page". Also the guest page walk through the current view. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define ADDR_MASK 0x000ffffffffff000UL
#define LEAF_A_D (BIT(8) | BIT(9) | BIT(10)) /* accessed, dirty, user-execute: kept as the CPU set them */
#define LEAF_MATCH (ADDR_MASK | EPT_RWX | EPT_SUPPRESS_VE | (7UL << 3) | BIT(6) | EPT_LARGE)

static u64 pages_for(u64 bytes) { return ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE; }
static u64 level_pages(int level) { return 1UL << (9 * (level - 1)); }

int policy_init(struct vm *vm)
{
	struct policy *p = &vm->sh->pol;
	memset(p, 0, sizeof(*p));
	p->npages = vm->ram_size / PAGE_SIZE;
	p->region = kalloc_pages(pages_for(p->npages), PAGE_SIZE);
	p->trap = kalloc_pages(pages_for(p->npages), PAGE_SIZE);
	p->wlog = kalloc_pages(pages_for(p->npages), PAGE_SIZE);
	p->xcopy = kalloc_pages(pages_for(p->npages), PAGE_SIZE);
	return p->region && p->trap && p->wlog && p->xcopy ? 0 : -1;
}

void policy_fini(struct vm *vm)
{
	struct policy *p = &vm->sh->pol;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		policy_view_fini(vm, v);
	if (p->region)
		kfree_pages(p->region, pages_for(p->npages));
	if (p->trap)
		kfree_pages(p->trap, pages_for(p->npages));
	if (p->wlog)
		kfree_pages(p->wlog, pages_for(p->npages));
	if (p->xcopy)
		kfree_pages(p->xcopy, pages_for(p->npages));
	p->region = p->trap = p->wlog = p->xcopy = NULL;
}

/* The EPT bits a trap removes: trapping reads must also remove W (write-only is invalid), and
 * X where the CPU has no execute-only pages (SDM "EPT Misconfigurations"). */
u64 policy_trap_removes(u64 access)
{
	u64 r = (access & HV_ACCESS_R ? EPT_R | EPT_W : 0) | (access & HV_ACCESS_W ? EPT_W : 0) |
		(access & HV_ACCESS_X ? EPT_X : 0);
	return (r & EPT_R) && !vmx_caps.ept_execute_only ? r | EPT_X : r;
}

static u64 frame_of(const struct policy *p, u32 v, u64 pfn)
{
	return p->remap[v] && p->remap[v][pfn] ? p->remap[v][pfn] - 1 : pfn;
}

/* THE leaf of page pfn in view v (without A/D): the rights the view gives, minus what the
 * frame's monitors take (a region: execute; a trap: its kinds; an execute copy: read and
 * write), plus the open step's rights (never more than the view gives); #VE suppressed on
 * monitored frames, so their violations reach the hypervisor first. An execute-only leaf of a
 * frame with an execute copy points at the copy. */
u64 policy_leaf(const struct vm *vm, u32 v, u64 pfn)
{
	const struct policy *p = &vm->sh->pol;
	u8 b = p->rights[v][pfn];
	u64 f = frame_of(p, v, pfn), r = b & EPT_RWX;
	bool monitored = p->region[f] || p->trap[f] || p->wlog[f] || p->xcopy[f];
	if (p->wlog[f]) /* dirty logging: the first write exits (dirty.c) */
		r &= ~EPT_W;
	if (p->region[f])
		r &= ~EPT_X;
	if (p->trap[f])
		r &= ~policy_trap_removes(p->traps[p->trap[f] - 1].access);
	if (p->xcopy[f]) /* data accesses exit and are served from the frame (violation.c) */
		r &= ~(EPT_R | EPT_W);
	for (u32 i = 0; i < vm->grant.n && vm->grant.view == v; i++) /* this vCPU's step */
		if (vm->grant.pfn[i] == pfn)
			r |= vm->grant.rights[i] & b;
	if (r == EPT_X && !vmx_caps.ept_execute_only)
		r = 0;
	u64 base = p->xcopy[f] && r == EPT_X ? (u64)p->xpage[p->xcopy[f] - 1] : (u64)vm->ram + f * PAGE_SIZE;
	return base | r | EPT_MT_WB | ((b & P_VE) && !monitored ? 0 : EPT_SUPPRESS_VE);
}

/* Do the n pages from pfn compute to one large leaf (consecutive frames, same bits)? */
static bool uniform(const struct vm *vm, u32 v, u64 pfn, u64 n, u64 *first)
{
	*first = policy_leaf(vm, v, pfn);
	for (u64 i = 1; i < n; i++)
		if (policy_leaf(vm, v, pfn + i) != *first + i * PAGE_SIZE)
			return false;
	return true;
}

static void write_leaf(struct vm *vm, u32 v, u64 *leaf, u64 want)
{
	if ((*leaf & LEAF_MATCH) == want)
		return;
	*leaf = want | (*leaf & LEAF_A_D);
	vm->sh->pol.dirty |= BIT(v);
	vm->sh->pol.leaf_writes++;
}

/* Make view v's leaves for [pfn, pfn + n) equal to what the policy computes. A large leaf stays
 * large while its pages agree; otherwise it is split (callers split before changing the policy,
 * so this only splits when asked to on a fresh view). -1 only when out of memory. */
static int sync_range(struct vm *vm, u32 v, u64 pfn, u64 n)
{
	struct ept *e = &vm->sh->views[v];
	for (u64 pos = pfn; pos < pfn + n;) {
		int level;
		u64 *leaf = ept_leaf(e, pos * PAGE_SIZE, &level);
		if (!leaf)
			return -1;
		u64 span = level_pages(level), base = pos & ~(span - 1), want;
		if (level > 1 && !uniform(vm, v, base, span, &want)) {
			if (ept_split(e, pos * PAGE_SIZE))
				return -1;
			continue;
		}
		write_leaf(vm, v, leaf, level > 1 ? want | EPT_LARGE : policy_leaf(vm, v, pos));
		pos = base + span;
	}
	return 0;
}

/* Split view v so that no large leaf straddles an end of [pfn, pfn + n): afterwards a change
 * that treats the whole range alike needs no allocation. Leaves keep their values. */
static int split_edges(struct vm *vm, u32 v, u64 pfn, u64 n)
{
	u64 ends[2] = {pfn, pfn + n - 1};
	for (int i = 0; i < 2; i++) {
		int level;
		while (ept_leaf(&vm->sh->views[v], ends[i] * PAGE_SIZE, &level) && level > 1) {
			u64 span = level_pages(level), base = ends[i] & ~(span - 1);
			if (base >= pfn && base + span <= pfn + n)
				break;
			if (ept_split(&vm->sh->views[v], ends[i] * PAGE_SIZE))
				return -1;
		}
	}
	return 0;
}

int view_invalidate(struct vm *vm, u32 v)
{
	/* EXERCISE(06): INVEPT for view v's EPTP, single-context where the CPU has it, else
	 * all-context (docs/exercises/06-ept.md); count it in vm->invepts and vm->last_invept_eptp.
	 * Return -1 when the CPU has no INVEPT or INVEPT fails. [uses vm, v] */
	const struct vmx_caps *c = &vmx_caps;
	u64 type = c->invept_single ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	if (!c->invept || VMX_CHECK("INVEPT", __invept(type, ept_eptp(&vm->sh->views[v]))))
		return -1;
	vm->invepts++;
	vm->last_invept_eptp = ept_eptp(&vm->sh->views[v]);
	/* END EXERCISE(06) */
	return 0;
}

/* After every change: the CPU may hold the old translations of each changed view (cached per
 * EPTP, SDM "Invalidation of TLBs and Paging-Structure Caches"), so INVEPT each of them. */
int policy_flush(struct vm *vm)
{
	int err = 0;
	u32 dirty = vm->sh->pol.dirty;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if ((vm->sh->pol.dirty & BIT(v)) && view_invalidate(vm, v))
			err = -1;
	vm->sh->pol.dirty = 0;
	/* SMP: every other CPU running this VM may cache the old translations too (smp_vm.c);
	 * -HV_ETIMEDOUT when one did not acknowledge (the change is made; it may not see it yet) */
	if (vm->smp && dirty && smp_shootdown(vm, dirty) && !err)
		err = -HV_ETIMEDOUT;
	return err;
}

/* A guest's change call's result: 0, -HV_ETIMEDOUT (a CPU did not acknowledge), else -HV_EFAULT. */
static s64 flush_result(struct vm *vm)
{
	int e = policy_flush(vm);
	return e == -HV_ETIMEDOUT ? e : e ? -HV_EFAULT : 0;
}

/* A frame's monitors changed: its own page in every view and every page remapped onto it. */
static void sync_frame_leaves(struct vm *vm, u64 f)
{
	struct policy *p = &vm->sh->pol;
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		if (!vm->sh->view_live[v])
			continue;
		sync_range(vm, v, f, 1);
		for (u64 pfn = 0; p->nremaps[v] && pfn < p->npages; pfn++)
			if (p->remap[v][pfn] == f + 1)
				sync_range(vm, v, pfn, 1);
	}
}

static void sync_frame(struct vm *vm, u64 f)
{
	sync_frame_leaves(vm, f);
	policy_flush(vm);
}

/* Every view's leaf for frame f must be a 4 KiB leaf before a monitor goes on it. */
static int split_frame(struct vm *vm, u64 f)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v] && ept_split_4k(&vm->sh->views[v], f * PAGE_SIZE))
			return -1;
	return 0;
}

/* A new view: all of guest RAM RWX with #VE suppressed (large pages where the CPU has them),
 * then the frames' monitors applied. */
int policy_view_init(struct vm *vm, u32 v)
{
	struct policy *p = &vm->sh->pol;
	struct ept *e = &vm->sh->views[v];
	p->rights[v] = kalloc_pages(pages_for(p->npages), PAGE_SIZE);
	if (!p->rights[v] || ept_init(e, vmx_caps.ept_2m, vmx_caps.ept_1g) ||
	    ept_map(e, 0, (u64)vm->ram, vm->ram_size, EPT_RWX | EPT_SUPPRESS_VE))
		goto fail;
	memset(p->rights[v], HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X, p->npages);
	for (u64 f = 0; f < p->npages; f++)
		if ((p->region[f] || p->trap[f] || p->xcopy[f]) && ept_split_4k(e, f * PAGE_SIZE))
			goto fail;
	if (sync_range(vm, v, 0, p->npages))
		goto fail;
	return 0;
fail:
	policy_view_fini(vm, v);
	return -1;
}

void policy_view_fini(struct vm *vm, u32 v)
{
	struct policy *p = &vm->sh->pol;
	ept_destroy(&vm->sh->views[v]);
	if (p->rights[v])
		kfree_pages(p->rights[v], pages_for(p->npages));
	if (p->remap[v])
		kfree_pages(p->remap[v], pages_for(p->npages * sizeof(u32)));
	p->rights[v] = NULL, p->remap[v] = NULL, p->nremaps[v] = 0;
	p->dirty &= ~BIT(v);
}

bool policy_lookup(const struct vm *vm, u32 v, u64 gpa, struct page_info *pi)
{
	const struct policy *p = &vm->sh->pol;
	u64 pfn = gpa / PAGE_SIZE;
	if (gpa >= vm->ram_size || v >= HV_VIEW_MAX || !p->rights[v])
		return false;
	u64 f = frame_of(p, v, pfn);
	*pi = (struct page_info){.frame = f * PAGE_SIZE, .rights = p->rights[v][pfn] & 7, .ve = p->rights[v][pfn] & P_VE,
				 .region = p->region[f], .trap = p->trap[f], .wlog = p->wlog[f], .xcopy = p->xcopy[f] != 0};
	return true;
}

/* Set (mask, bits) in the policy byte of every page of the range, then derive the leaves. The
 * caller checked the range. */
static s64 set_bytes(struct vm *vm, u32 v, u64 gpa, u64 size, u8 mask, u8 bits)
{
	u64 pfn = gpa / PAGE_SIZE, n = size / PAGE_SIZE;
	if (split_edges(vm, v, pfn, n))
		return -HV_ENOSPC;
	for (u64 i = 0; i < n; i++)
		vm->sh->pol.rights[v][pfn + i] = (vm->sh->pol.rights[v][pfn + i] & ~mask) | bits;
	sync_range(vm, v, pfn, n);
	return flush_result(vm);
}

s64 policy_set_rights(struct vm *vm, u32 v, u64 gpa, u64 size, u64 rights)
{
	return set_bytes(vm, v, gpa, size, 7, rights);
}

s64 policy_set_ve(struct vm *vm, u32 v, u64 gpa, u64 size, bool on)
{
	return set_bytes(vm, v, gpa, size, P_VE, on ? P_VE : 0);
}

/* In view v, page gpa shows frame target (target == gpa: its own frame again). */
s64 policy_remap(struct vm *vm, u32 v, u64 gpa, u64 target)
{
	struct policy *p = &vm->sh->pol;
	u64 pfn = gpa / PAGE_SIZE, val = target == gpa ? 0 : target / PAGE_SIZE + 1;
	if (!p->remap[v] && val && !(p->remap[v] = kalloc_pages(pages_for(p->npages * sizeof(u32)), PAGE_SIZE)))
		return -HV_ENOSPC;
	if (ept_split_4k(&vm->sh->views[v], gpa))
		return -HV_ENOSPC;
	if (!p->remap[v])
		return 0; /* never remapped: nothing to undo */
	p->nremaps[v] += (val != 0) - (p->remap[v][pfn] != 0);
	p->remap[v][pfn] = val;
	sync_range(vm, v, pfn, 1);
	return flush_result(vm);
}

/* A region or a trap goes on (id + 1) or comes off (0) frame f. -1 when out of memory (nothing
 * changed then). */
int policy_set_region(struct vm *vm, u64 f, u32 id_plus_1)
{
	if (split_frame(vm, f / PAGE_SIZE))
		return -1;
	vm->sh->pol.region[f / PAGE_SIZE] = id_plus_1;
	sync_frame(vm, f / PAGE_SIZE);
	return 0;
}

int policy_set_trap(struct vm *vm, u64 f, u32 id_plus_1)
{
	if (split_frame(vm, f / PAGE_SIZE))
		return -1;
	vm->sh->pol.trap[f / PAGE_SIZE] = id_plus_1;
	sync_frame(vm, f / PAGE_SIZE);
	return 0;
}

/* Dirty logging by write protection (dirty.c): every frame's first write exits. All of RAM
 * goes to 4 KiB leaves first (one dirty page is one 4 KiB frame, and a fault needs no split);
 * on = false lifts it everywhere. -1 when out of memory. */
int policy_wlog_all(struct vm *vm, bool on)
{
	struct policy *p = &vm->sh->pol;
	for (u64 f = 0; f < p->npages; f += 512)
		if (split_frame(vm, f))
			return -1;
	memset(p->wlog, on, p->npages);
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v] && sync_range(vm, v, 0, p->npages))
			return -1;
	return policy_flush(vm);
}

/* One frame's write logging on or off; the caller ends a batch with policy_flush(). */
void policy_wlog_set(struct vm *vm, u64 f, bool on)
{
	if (f < vm->sh->pol.npages && vm->sh->pol.wlog[f] != on) {
		vm->sh->pol.wlog[f] = on;
		sync_frame_leaves(vm, f);
	}
}

/* Instruction fetches from frame f see page copy (the caller's host page) instead of the frame:
 * the frame's leaves become execute-only and point at the copy, so the guest runs the copy
 * while each of its data accesses to the frame exits (violation.c) and is served from the frame
 * itself. Needs execute-only EPT (IA32_VMX_EPT_VPID_CAP bit 0; without it an execute-only
 * entry is a misconfiguration, SDM "EPT Misconfigurations"). copy NULL: the frame again. -1:
 * no execute-only EPT, every slot taken, or out of memory (nothing changed then). */
int policy_set_xcopy(struct vm *vm, u64 frame, void *copy)
{
	struct policy *p = &vm->sh->pol;
	u64 f = frame / PAGE_SIZE;
	u32 slot = f < p->npages ? p->xcopy[f] : 0;
	if (f >= p->npages || (copy && !vmx_caps.ept_execute_only))
		return -1;
	if (!copy) {
		if (slot)
			p->xpage[slot - 1] = NULL;
		p->xcopy[f] = 0;
		sync_frame(vm, f);
		return 0;
	}
	for (u32 i = 0; !slot && i < POLICY_XCOPY_MAX; i++)
		if (!p->xpage[i])
			slot = i + 1;
	if (!slot || split_frame(vm, f))
		return -1;
	p->xpage[slot - 1] = copy;
	p->xcopy[f] = slot;
	sync_frame(vm, f);
	return 0;
}

/* The EPT dirty flags of view v (SDM "Accessed and Dirty Flags for EPT"): each 4 KiB leaf the
 * CPU marked dirty (all of them with scan_all, else only those of the n page addresses gpas,
 * as page-modification logging lists them) gets its dirty flag cleared and its frame passed to
 * mark. The CPU may cache a set dirty flag, so view v is flushed (SDM "Guidelines for Use of
 * the INVEPT Instruction"): the caller ends with policy_flush(). Returns the flags cleared. */
u64 policy_ad_harvest(struct vm *vm, u32 v, void (*mark)(struct vm *, u64), bool scan_all, const u64 *gpas, u64 n)
{
	const u64 dirty_flag = BIT(9), accessed_flag = BIT(8);
	u64 cleared = 0, total = scan_all ? vm->sh->pol.npages : n;
	for (u64 i = 0; i < total;) {
		int level;
		u64 gpa = scan_all ? i * PAGE_SIZE : gpas[i] & ~(PAGE_SIZE - 1);
		/* A scan skips the 2 MiB whose EPT PDE the CPU has not used since the last harvest
		 * (it sets the accessed flag of every entry it uses); mark == NULL: scan everything. */
		u64 *pde = scan_all && mark && !(i & 511) ? ept_entry(&vm->sh->views[v], gpa, 2) : NULL;
		if (pde && !(*pde & EPT_LARGE) && !(*pde & accessed_flag)) {
			i += 512;
			continue;
		}
		if (pde && (*pde & accessed_flag)) {
			*pde &= ~accessed_flag; /* cleared: INVEPT, as for a dirty flag (below) */
			cleared++;
		}
		u64 *leaf = gpa < vm->ram_size ? ept_leaf(&vm->sh->views[v], gpa, &level) : NULL;
		u64 span = scan_all && leaf && level == 1 ? 512 - (i & 511) : 1; /* a table's leaves in a row */
		for (u64 j = 0; leaf && j < span; j++) {
			if (!(leaf[j] & dirty_flag))
				continue;
			leaf[j] &= ~dirty_flag;
			cleared++;
			u64 f = ((leaf[j] & ADDR_MASK) - (u64)vm->ram) / PAGE_SIZE;
			for (u64 k = 0; mark && k < (level > 1 ? level_pages(level) : 1); k++)
				mark(vm, f + k);
		}
		i += span;
	}
	if (cleared)
		vm->sh->pol.dirty |= BIT(v);
	return cleared;
}

/* The single step's rights on n pages of view v (step.c); revoked by policy_revoke(). */
int policy_grant(struct vm *vm, u32 v, u32 n, const u64 *gpa, const u64 *rights)
{
	struct grant *g = &vm->grant;
	if (n > STEP_PAGES)
		return -1;
	for (u32 i = 0; i < n; i++)
		if (ept_split_4k(&vm->sh->views[v], gpa[i]))
			return -1;
	g->n = n, g->view = v;
	for (u32 i = 0; i < n; i++)
		g->pfn[i] = gpa[i] / PAGE_SIZE, g->rights[i] = rights[i];
	for (u32 i = 0; i < n; i++)
		sync_range(vm, v, g->pfn[i], 1);
	return policy_flush(vm);
}

void policy_revoke(struct vm *vm)
{
	struct grant *g = &vm->grant;
	u32 n = g->n;
	g->n = 0;
	for (u32 i = 0; i < n && vm->sh->view_live[g->view]; i++)
		sync_range(vm, g->view, g->pfn[i], 1);
	policy_flush(vm);
}

/* A trap on the frame saw an access of `access` kinds: one hit per instruction (vm->insn_seq)
 * if the trap counts that kind. */
bool policy_trap_hit(struct vm *vm, u32 trap_plus_1, u64 access)
{
	struct trap *t = &vm->sh->pol.traps[trap_plus_1 - 1];
	u64 insn = (u64)vm->vcpu_id << 56 | (vm->insn_seq + 1); /* instructions are counted per vCPU */
	if (!(access & t->access) || t->last_insn == insn)
		return false;
	__atomic_add_fetch(&t->hits, 1, __ATOMIC_RELAXED); /* vCPUs hit the VM's traps at once */
	t->last_insn = insn;
	return true;
}

/* The invariant the guest fuzzer checks: every leaf of every view equals what the policy
 * computes, the EPTP list names exactly the live views, and the per-frame monitors name live
 * regions and traps. Returns the number of differences (the first few are printed). */
u64 policy_check(struct vm *vm, bool verbose)
{
	struct policy *p = &vm->sh->pol;
	u64 bad = 0;
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		if (vm->sh->eptp_list[v] != (vm->sh->view_live[v] ? ept_eptp(&vm->sh->views[v]) : 0) && bad++ < 4 && verbose)
			printf("# policy: EPTP list entry %u is 0x%lx\n", v, vm->sh->eptp_list[v]);
		for (u64 pfn = 0; vm->sh->view_live[v] && pfn < p->npages; pfn++) {
			int level;
			u64 *leaf = ept_leaf(&vm->sh->views[v], pfn * PAGE_SIZE, &level);
			u64 off = (pfn & (level_pages(level) - 1)) * PAGE_SIZE;
			u64 got = leaf ? ((*leaf & LEAF_MATCH & ~EPT_LARGE) + off) : 0;
			if (got != policy_leaf(vm, v, pfn) && bad++ < 4 && verbose)
				printf("# policy: view %u page 0x%lx: leaf 0x%lx, policy 0x%lx\n", v, pfn * PAGE_SIZE, got,
				       policy_leaf(vm, v, pfn));
		}
	}
	for (u64 f = 0; f < p->npages; f++) {
		bool ok = (!p->trap[f] || (p->traps[p->trap[f] - 1].live && p->traps[p->trap[f] - 1].frame == f * PAGE_SIZE)) &&
			  (!p->region[f] || vm->sh->regions[p->region[f] - 1].live) &&
			  (!p->xcopy[f] || (p->xcopy[f] <= POLICY_XCOPY_MAX && p->xpage[p->xcopy[f] - 1]));
		if (!ok && bad++ < 4 && verbose)
			printf("# policy: frame 0x%lx names a dead monitor\n", f * PAGE_SIZE);
	}
	return bad;
}

/* A guest paging-structure entry, for gwalk(): the CPU reads it through the current view, so a
 * remapped page-table page is read from the frame the view shows. */
u64 *vm_table_entry(void *ctx, u64 gpa)
{
	struct vm *vm = ctx;
	struct page_info pi;
	if (!policy_lookup(vm, vm->view, gpa, &pi))
		return NULL;
	return vm_gpa(vm, pi.frame | (gpa & (PAGE_SIZE - 1)), 8);
}

/* Guest-linear to guest-physical with the guest's current paging state from the VMCS. */
int vm_gva_to_gpa(struct vm *vm, u64 gva, u32 access, u64 *gpa, u32 *pf_error)
{
	struct gwalk_regs r = {vmcs_read(GUEST_CR0), vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4),
			       vmcs_read(GUEST_IA32_EFER), vmcs_read(GUEST_RFLAGS), gwalk_this_cpu()};
	view_current(vm);
	return gwalk(&r, gva, access, gpa, pf_error, NULL, vm_table_entry, vm);
}
