/* dirty.c: which guest pages an iteration wrote, three ways, chosen at run time.
 *  wp:  EPT write protection through the policy layer (policy_wlog_*): every frame read-only at
 *       the snapshot; the first write to a frame exits, is logged here, and the frame becomes
 *       writable until the restore protects it again. Any CPU with EPT.
 *  ad:  the EPT dirty flags (SDM "Accessed and Dirty Flags for EPT"): the CPU sets bit 9 of a
 *       leaf on a write through it; after the iteration every leaf is scanned, the flags
 *       cleared, and the view flushed with INVEPT (the CPU may cache a set flag).
 *  pml: page-modification logging (SDM "Page-Modification Logging"): the CPU writes the
 *       guest-physical address of each page whose dirty flag it sets into a 512-entry log;
 *       only the logged leaves are cleared. A full log exits (reason 62) and is emptied here.
 * Where the CPU has EPT A/D flags they are enabled for all three methods: the CPU then treats
 * its guest page-walk accesses as writes (SDM "EPT Violations"), so each method sees the same
 * pages. The hypervisor's own writes to guest RAM (the input, hypercall results) are marked
 * by fuzz.c. Nothing here writes an EPT leaf: policy.c does. */
#include "fuzz.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define PML_ADDRESS 0x0000200e     /* VMCS 64-bit control field (SDM appendix "Field Encoding in VMCS") */
#define GUEST_PML_INDEX 0x00000812 /* VMCS 16-bit guest-state field */
#define PML_ENTRIES 512

const char *dirty_unsupported(u32 method)
{
	if (method >= FUZZ_DIRTY_N)
		return "unknown dirty-tracking method";
	if (!vmx_caps.ept)
		return "this CPU has no EPT";
	if (method == FUZZ_DIRTY_AD && !vmx_caps.ept_ad)
		return "this CPU has no EPT accessed and dirty flags (IA32_VMX_EPT_VPID_CAP bit 21)";
	if (method == FUZZ_DIRTY_PML && (!vmx_caps.ept_ad || !vmx_caps.pml))
		return "this CPU has no page-modification logging (secondary control bit 17, and EPT A/D)";
	return NULL;
}

/* EPTP bit 6 in every live view, the VMCS and the EPTP list; INVEPT before the next entry (SDM
 * "Guidelines for Use of the INVEPT Instruction": an EPTP with bit 6 newly set). */
static void set_ad(struct vm *vm, bool on)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		if (!vm->sh->view_live[v])
			continue;
		vm->sh->views[v].ad = on;
		vm->sh->eptp_list[v] = ept_eptp(&vm->sh->views[v]);
	}
	vmcs_write(EPT_POINTER, ept_eptp(&vm->sh->views[view_current(vm)]));
	vm_invalidate(vm);
}

static void mark_cb(struct vm *vm, u64 frame) { dirty_mark(vm, frame); }

/* Forget the flags the boot set: the first iteration starts clean. */
static void clear_all_flags(struct vm *vm)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v])
			policy_ad_harvest(vm, v, NULL, true, NULL, 0);
}

int dirty_start(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	if (vmx_caps.ept_ad)
		set_ad(vm, true);
	if (fz->method == FUZZ_DIRTY_WP && policy_wlog_all(vm, true))
		return -1;
	if (fz->method != FUZZ_DIRTY_WP && policy_wlog_all(vm, false)) /* 4 KiB leaves: 4 KiB dirty pages */
		return -1;
	if (fz->method == FUZZ_DIRTY_PML) {
		if (!(fz->pml = kalloc_page()))
			return -1;
		vmcs_write(PML_ADDRESS, (u64)fz->pml);
		vmcs_write(GUEST_PML_INDEX, PML_ENTRIES - 1);
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_read(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_ENABLE_PML);
	}
	return 0;
}

/* A VM with the flags harvested: the snapshot's page set starts empty. */
int dirty_rearm_initial(struct vm *vm)
{
	if (vm->fuzz->method != FUZZ_DIRTY_WP && vmx_caps.ept_ad)
		clear_all_flags(vm);
	return policy_flush(vm);
}

void dirty_stop(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	if (fz->method == FUZZ_DIRTY_PML) {
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_read(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_EXEC_ENABLE_PML);
		if (fz->pml)
			kfree_page(fz->pml);
		fz->pml = NULL;
	}
	policy_wlog_all(vm, false);
	if (vmx_caps.ept_ad)
		set_ad(vm, false);
}

void dirty_mark(struct vm *vm, u64 frame)
{
	struct fuzz *fz = vm->fuzz;
	if (frame >= vm->sh->pol.npages || fz->mark[frame])
		return;
	fz->mark[frame] = 1;
	fz->list[fz->nlist++] = frame;
}

/* A write the interpreter makes (region.c: an emulated region in a fuzzed guest): the CPU's EPT
 * never sees it, so no method (write protection, A/D flags, PML) would; it is marked here. */
void dirty_note_write(struct vm *vm, u64 frame)
{
	if (!vm->fuzz || frame >= vm->sh->pol.npages)
		return;
	if (!fuzz_write_logged(vm, frame)) /* wp: logged and made writable, as the violation would */
		dirty_mark(vm, frame);
}

/* The wp method's EPT violation (violation.c): a write to a frame whose leaves lost W at the
 * snapshot. false: not a frame this VM logs (the violation is someone else's). */
bool fuzz_write_logged(struct vm *vm, u64 frame)
{
	if (!vm->fuzz || frame >= vm->sh->pol.npages || !vm->sh->pol.wlog[frame])
		return false;
	/* EXERCISE(11): log the first write (docs/exercises/11-dirty-wp.md): put the frame in this
	 * iteration's dirty set, count the fault in the fuzzer's wp_faults, and give the frame its
	 * write right back through the policy layer, so that the guest's retried write goes
	 * through and its later writes to the frame do not exit. [uses vm, frame] [stub returns false] */
	dirty_mark(vm, frame);
	vm->fuzz->wp_faults++;
	policy_wlog_set(vm, frame, false);
	/* END EXERCISE(11) */
	/* No INVEPT now: an EPT violation invalidates the mappings that would translate its
	 * guest-physical address (SDM "Invalidation of TLBs and Paging-Structure Caches"), and the
	 * leaf only gained a right. The restore's policy_flush() covers the view. */
	return true;
}

/* The log holds entries index+1 .. 511 (the CPU fills it from 511 down). */
static void drain_pml(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	u64 idx = vmcs_read(GUEST_PML_INDEX) & 0xffff;
	u64 first = idx >= PML_ENTRIES ? 0 : idx + 1; /* 0xffff: full */
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v])
			policy_ad_harvest(vm, v, mark_cb, false, fz->pml + first, PML_ENTRIES - first);
	vmcs_write(GUEST_PML_INDEX, PML_ENTRIES - 1);
}

/* Exit reason 62: the log is full; the access that found it full did not happen and is retried. */
void dirty_pml_full(struct vm *vm)
{
	vm->fuzz->pml_full++;
	drain_pml(vm);
	policy_flush(vm);
}

/* The guest's 4-level paging structures under table (level 4: the PML4), marked dirty. */
static void mark_tables(struct vm *vm, u64 table, int level)
{
	if (table >= vm->ram_size)
		return;
	dirty_mark(vm, table / PAGE_SIZE);
	const u64 *e = (const u64 *)(vm->ram + table);
	for (int i = 0; level > 1 && i < 512; i++)
		if ((e[i] & 1) && (level == 4 || !(e[i] & BIT(7)))) /* present, not a large page */
			mark_tables(vm, e[i] & 0x000ffffffffff000UL, level - 1);
}

/* After an iteration: every page it wrote is in fz->list. Without EPT A/D flags, the CPU's own
 * updates of the accessed and dirty bits in the guest's page tables are data writes (SDM "EPT
 * Violations") that write protection should see, but Bochs 2.7 (corei7_ivy_bridge_3770k) lets
 * them through a read-only leaf: then every paging-structure page of the guest counts as dirty
 * (with A/D flags every page walk is a write, so the methods agree). */
void dirty_harvest(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	if (!vmx_caps.ept_ad && (vmcs_read(GUEST_IA32_EFER) & MSR_EFER_LMA))
		mark_tables(vm, vmcs_read(GUEST_CR3) & 0x000ffffffffff000UL, 4);
	if (fz->method == FUZZ_DIRTY_PML)
		drain_pml(vm);
	else if (fz->method == FUZZ_DIRTY_AD)
		for (u32 v = 0; v < HV_VIEW_MAX; v++)
			if (vm->sh->view_live[v])
				policy_ad_harvest(vm, v, mark_cb, true, NULL, 0);
}

/* After the pages are restored: protect them again (wp), then one INVEPT per changed view. */
int dirty_rearm(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	for (u64 i = 0; i < fz->nlist; i++) {
		if (fz->method == FUZZ_DIRTY_WP)
			policy_wlog_set(vm, fz->list[i], true);
		fz->mark[fz->list[i]] = 0;
	}
	fz->nlist = 0;
	return policy_flush(vm);
}
