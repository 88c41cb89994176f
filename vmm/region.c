/* region.c: emulated regions. Guest code in a region is never executed by the CPU: its pages
 * lose execute permission in every view, the first fetch makes an EPT violation, and the
 * hypervisor runs the code in its own interpreter (emulator/) until RIP leaves the region; the
 * guest then resumes on the CPU with no further exit. Memory accesses made by emulated code go
 * through the guest's page tables at the current CPL and then the current view's EPT rights, as
 * on the CPU. Policy for instructions the interpreter leaves to the hypervisor (I/O, CPUID, HLT,
 * MOV CR, ...) or does not implement: the CPU executes that one instruction, single-stepped with
 * execute permission granted on its page for one step, so it exits exactly as it would have. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define EPT_FAULT 0xff           /* emu_fault vector meaning "the EPT denied it" (not an exception) */
#define RUN_BUDGET 100000        /* instructions per emu_run: then check for pending events */
#define EXIT_BUDGET 10000000     /* instructions per VM exit: then let the guest run (and re-enter) */
#define LOG_PAGES (ALIGN_UP(HV_REGION_LOG * sizeof(struct hv_access), PAGE_SIZE) / PAGE_SIZE)

struct run_ctx {
	struct vm *vm;
	struct region *r;
	u64 ept_gpa, ept_gla, ept_q; /* an EPT-denied access */
};

static u32 region_id(const struct vm *vm, u64 gpa) { return gpa < vm->ram_size ? vm->page_region[gpa / PAGE_SIZE] : 0; }

/* Rights for one access: the guest page walk at the access's privilege, then the EPT rights of
 * the current view. Fetches from region pages are what we emulate: allowed. A probe (map_page)
 * only asks: it neither counts a trap hit nor records a violation. */
static int translate(struct run_ctx *c, struct emu *e, u64 la, u32 kind, u64 *gpa, struct emu_fault *f, bool probe)
{
	struct gwalk_regs regs = {e->cpu.cr0, e->cpu.cr3, e->cpu.cr4, e->cpu.efer, emu_get_rflags(e)};
	u32 acc = GW_SET_AD | (kind & EMU_ACC_WRITE ? GW_WRITE : 0) | (kind & EMU_ACC_FETCH ? GW_FETCH : 0) |
		  (kind & EMU_ACC_USER ? GW_USER : 0);
	u32 pf;
	int rc = gwalk(&regs, la, acc, gpa, &pf, vm_table_entry, c->vm);
	if (rc) {
		*f = (struct emu_fault){.vector = rc == -1 ? 14 : EPT_FAULT, .has_error = true, .error_code = pf, .cr2 = la};
		c->ept_gpa = ~0UL; /* rc == -2: a paging structure outside guest RAM */
		return -1;
	}
	u64 *leaf = vm_gpa(c->vm, *gpa, 1) ? ept_leaf(&c->vm->views[c->vm->view], *gpa, NULL) : NULL;
	u64 need = kind & EMU_ACC_WRITE ? EPT_W : kind & EMU_ACC_FETCH ? EPT_X : EPT_R;
	bool ok = leaf && ((*leaf & need) || (need == EPT_X && region_id(c->vm, *gpa)));
	if (ok)
		return 0;
	if (probe)
		return -1;
	u64 q = (kind & EMU_ACC_WRITE ? EPT_VIOLATION_ACC_WRITE : kind & EMU_ACC_FETCH ? EPT_VIOLATION_ACC_INSTR
										       : EPT_VIOLATION_ACC_READ) |
		((leaf ? *leaf & EPT_RWX : 0) << 3) | EPT_VIOLATION_GLA_VALID | EPT_VIOLATION_GVA_TRANSLATED;
	if (leaf && trap_emulated_access(c->vm, *gpa, la, q))
		return 0; /* a trapped page: counted, and this one access goes through */
	c->ept_gpa = *gpa, c->ept_gla = la, c->ept_q = q;
	*f = (struct emu_fault){.vector = EPT_FAULT};
	return -1;
}

static void log_access(struct region *r, u64 la, u64 gpa, const void *buf, u32 size, u32 kind)
{
	struct hv_access *a = &r->log[r->log_next++ % HV_REGION_LOG];
	a->gva = la, a->gpa = gpa, a->size = size, a->value = 0;
	memcpy(&a->value, buf, size > 8 ? 8 : size);
	a->kind = kind & EMU_ACC_WRITE ? HV_ACCESS_W : kind & EMU_ACC_FETCH ? HV_ACCESS_X : HV_ACCESS_R;
}

/* emu_mem_ops.access: every page the access touches is checked before any byte moves. */
static int mem_access(void *ctx, u64 la, void *buf, u32 size, u32 kind, struct emu_fault *f)
{
	struct run_ctx *c = ctx;
	struct emu *e = c->vm->emu;
	u64 gpa[2];
	u32 first = PAGE_SIZE - (la & (PAGE_SIZE - 1));
	if (first > size)
		first = size;
	if (translate(c, e, la, kind, &gpa[0], f, false) ||
	    (first < size && translate(c, e, la + first, kind, &gpa[1], f, false)))
		return -1;
	for (u32 done = 0, i = 0; done < size; i++) {
		u32 n = i == 0 ? first : size - first;
		u8 *host = vm_gpa(c->vm, gpa[i], n);
		if (kind & EMU_ACC_WRITE)
			memcpy(host, (u8 *)buf + done, n);
		else
			memcpy((u8 *)buf + done, host, n);
		done += n;
	}
	if (c->r->logging)
		log_access(c->r, la, gpa[0], buf, size, kind);
	return 0;
}

/* emu_mem_ops.map_page: the interpreter's fast path, for pages it may touch directly. Not while
 * logging (every access must be seen). A/D bits are set here, at the first access, as a TLB fill
 * would set them. */
static u8 *map_page(void *ctx, u64 la_page, u32 kind)
{
	struct run_ctx *c = ctx;
	struct emu_fault f;
	u64 gpa;
	if (c->r->logging || translate(c, c->vm->emu, la_page, kind, &gpa, &f, true) ||
	    (vm_monitored(c->vm, gpa) && !region_id(c->vm, gpa)))
		return NULL; /* a trapped page: every access must go through translate() */
	return vm_gpa(c->vm, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE);
}

static const struct emu_mem_ops mem_ops = {mem_access, map_page};

/* VMCS -> interpreter: everything the interpreted code can see or use. The interpreter runs
 * 64-bit code only: -1 when the guest is not in 64-bit mode (IA32_EFER.LMA and CS.L; SDM
 * "IA-32e Mode Operation"), e.g. a 32-bit code segment in a region. */
static int load_state(struct vm *vm, struct emu *e)
{
	u64 efer = vmcs_read(GUEST_IA32_EFER);
	if (!(efer & MSR_EFER_LMA) || !(vmcs_read(GUEST_CS_AR_BYTES) & BIT(13)))
		return -1;
	/* EXERCISE(09): load the interpreter's state (e->cpu, emulator/emu.h) from the guest's
	 * (docs/exercises/09-regions.md): the 16 GPRs (vm->regs; RSP is in the VMCS), RIP, RFLAGS
	 * (with emu_set_rflags), FS/GS bases, CR0/CR2/CR3/CR4, EFER (read above) and the CPL.
	 * [uses vm, e, efer] [stub returns -1] */
	memcpy(e->cpu.gpr, vm->regs, sizeof(e->cpu.gpr));
	e->cpu.gpr[EMU_RSP] = vmcs_read(GUEST_RSP);
	e->cpu.rip = vmcs_read(GUEST_RIP);
	e->cpu.fs_base = vmcs_read(GUEST_FS_BASE);
	e->cpu.gs_base = vmcs_read(GUEST_GS_BASE);
	e->cpu.cr0 = vmcs_read(GUEST_CR0);
	e->cpu.cr2 = read_cr2(); /* CR2 is not in the VMCS: the guest's value is still in the CPU */
	e->cpu.cr3 = vmcs_read(GUEST_CR3);
	e->cpu.cr4 = vmcs_read(GUEST_CR4);
	e->cpu.efer = efer;
	e->cpu.cpl = vm_cpl();
	emu_set_rflags(e, vmcs_read(GUEST_RFLAGS));
	/* END EXERCISE(09) */
	emu_glue_load(vm, e); /* x87/SSE state, debug registers, MOV SS blocking, CPUID */
	return 0;
}

/* Interpreter -> VMCS, so the guest resumes on the CPU where the interpreter stopped. */
static void store_state(struct vm *vm, struct emu *e)
{
	u64 rsp = e->cpu.gpr[EMU_RSP];
	memcpy(vm->regs, e->cpu.gpr, sizeof(vm->regs));
	vmcs_write(GUEST_RSP, rsp);
	vmcs_write(GUEST_RIP, e->cpu.rip);
	vmcs_write(GUEST_RFLAGS, emu_get_rflags(e));
	emu_glue_store(vm, e);
}

/* Execute one instruction of the region on the CPU: execute permission on its page for one step. */
static void step_in_hardware(struct vm *vm, struct region *r, u64 rip)
{
	u64 gpa;
	u32 pf;
	if (vm_gva_to_gpa(vm, rip, GW_FETCH | (vm_cpl() == 3 ? GW_USER : 0), &gpa, &pf) || !region_id(vm, gpa)) {
		printf("# region: cannot step RIP 0x%lx in hardware; guest stopped\n", rip);
		vm->stop = VM_STOP_BAD_GUEST;
		return;
	}
	r->stats.stepped++;
	step_begin(vm, STEP_REGION, r - vm->regions, ALIGN_DOWN(gpa, PAGE_SIZE), EPT_X);
}

/* Where the region lies in linear addresses now: the registered range for a GVA region fetched
 * through it; otherwise (a GPA region, or a GVA region reached through another mapping of its
 * pages) derived from the faulting fetch's page and its index in the region, assuming the
 * region is mapped contiguously there (docs/regions.md). */
static void linear_range(const struct region *r, u64 gpa, u64 gla, u64 *start, u64 *end)
{
	u32 i = 0;
	if (r->kind == HV_TRAP_GVA && gla - r->addr < r->size) {
		*start = r->addr;
	} else {
		while (i < r->npages && r->gpa[i] != ALIGN_DOWN(gpa, PAGE_SIZE))
			i++;
		*start = ALIGN_DOWN(gla, PAGE_SIZE) - (u64)i * PAGE_SIZE;
	}
	*end = *start + r->size;
}

/* A fetch from a region page: run it in the interpreter until it leaves the region. */
void region_enter(struct vm *vm, u32 id, u64 gpa, u64 gla)
{
	struct region *r = &vm->regions[id];
	struct emu *e = vm->emu;
	struct run_ctx c = {.vm = vm, .r = r};
	u64 start, end, total = 0;
	struct emu_result res;
	r->stats.entries++;
	if (!vm->in_region) /* this exit brought us in; exits while inside are counted by vm_run */
		r->stats.exits++;
	linear_range(r, gpa, gla, &start, &end);
	if (!vm->emu_ready) {
		emu_init(e, &mem_ops, &c);
		vm->emu_ready = true;
	} else { /* mappings may have changed since the last entry; decoded code is re-verified */
		e->ctx = &c;
		emu_flush_tlb(e);
	}
	if (load_state(vm, e)) {
		printf("# region: no state for the interpreter at RIP 0x%lx (it runs 64-bit code only); "
		       "guest stopped\n", vmcs_read(GUEST_RIP));
		vm->stop = VM_STOP_BAD_GUEST;
		return;
	}
	vm->in_region = id + 1;
	int glue; /* 1: run on (budget used, or RDRAND.. completed by emu_glue_stop), -1: event injected */
	do { /* no interrupt is ever pending in hvlab, so a used budget only bounds one exit */
		res = emu_run(e, start, end, RUN_BUDGET);
		r->stats.instructions += res.executed;
		total += res.executed;
		glue = res.reason == EMU_STOP_BUDGET ? 1 : emu_glue_stop(vm, e, &res);
	} while (glue > 0 && total < EXIT_BUDGET);
	store_state(vm, e);
	if (glue > 0)
		return; /* the guest resumes at RIP in the region: the next fetch re-enters */
	if (glue < 0) { /* INT n, INT3, INT1 or #DB: the guest goes to its handler */
		vm->in_region = 0;
		return;
	}
	switch (res.reason) {
	case EMU_STOP_LEFT_REGION:
		vm->in_region = 0;
		return;
	case EMU_STOP_BUDGET:
		return; /* the guest resumes at RIP in the region: the next fetch re-enters */
	case EMU_STOP_FAULT:
		vm->in_region = 0;
		if (res.fault.vector == EPT_FAULT && c.ept_gpa == ~0UL) {
			printf("# region: guest paging structure outside guest RAM at 0x%lx; guest stopped\n", res.fault.cr2);
			vm->stop = VM_STOP_BAD_GUEST;
		} else if (res.fault.vector == EPT_FAULT) {
			violation_decide(vm, c.ept_q, c.ept_gpa, c.ept_gla, false);
		} else {
			if (res.fault.vector == 14)
				write_cr2(res.fault.cr2); /* the guest's #PF handler reads it from the CPU */
			vm_inject(vm, res.fault.vector, res.fault.has_error, res.fault.error_code);
			r->stats.faults++;
		}
		return;
	case EMU_STOP_DEBUG: /* delivered by emu_glue_stop() */
		return;
	case EMU_STOP_UNSUPPORTED:
		r->stats.unsupported++;
		__attribute__((fallthrough)); /* the CPU runs it */
	case EMU_STOP_HYPERVISOR:
		step_in_hardware(vm, r, e->cpu.rip);
		return;
	}
}

/* Removes execute permission from the region's pages in view v (where present), remembering
 * which views had it. */
void region_apply(struct vm *vm, u32 id, u32 v)
{
	struct region *r = &vm->regions[id];
	for (u32 i = 0; i < r->npages; i++) {
		if (ept_split_4k(&vm->views[v], r->gpa[i]))
			continue;
		u64 *leaf = ept_leaf(&vm->views[v], r->gpa[i], NULL);
		if (*leaf & EPT_X)
			r->had_x[i] |= BIT(v);
		*leaf &= ~EPT_X;
	}
	view_invalidate(vm, v);
}

static void region_unapply(struct vm *vm, struct region *r)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		if (!vm->view_live[v])
			continue;
		for (u32 i = 0; i < r->npages; i++)
			if (r->had_x[i] & BIT(v))
				*ept_leaf(&vm->views[v], r->gpa[i], NULL) |= EPT_X;
		view_invalidate(vm, v);
	}
}

/* Guest-physical pages of [addr, addr+size): given (GPA) or translated now through the guest's
 * page tables (GVA). Every page must be in RAM and belong to no region and no trap. */
static s64 region_pages(struct vm *vm, u64 kind, u64 addr, u64 size, u64 *gpa)
{
	for (u64 i = 0; i < size / PAGE_SIZE; i++) {
		u32 pf;
		gpa[i] = addr + i * PAGE_SIZE;
		if (kind == HV_TRAP_GVA && vm_gva_to_gpa(vm, gpa[i], 0, &gpa[i], &pf))
			return -HV_EFAULT;
		if (!vm_gpa(vm, gpa[i], PAGE_SIZE))
			return -HV_EFAULT;
		if (vm_monitored(vm, gpa[i]))
			return -HV_EBUSY; /* overlaps a region or a trap */
		for (u32 v = 0; v < HV_VIEW_MAX; v++) /* #VE on it: the CPU would see its fetches first */
			if (vm->view_live[v] && !(*ept_leaf(&vm->views[v], gpa[i], NULL) & EPT_SUPPRESS_VE))
				return -HV_EBUSY;
		for (u64 j = 0; j < i; j++)
			if (gpa[j] == gpa[i])
				return -HV_EINVAL; /* two addresses of the range share a page */
	}
	return 0;
}

s64 region_add(struct vm *vm, u64 kind, u64 addr, u64 size)
{
	u64 gpa[HV_REGION_PAGES];
	u32 id = 0;
	if (kind > HV_TRAP_GVA || size == 0 || !IS_ALIGNED(addr | size, PAGE_SIZE) || size / PAGE_SIZE > HV_REGION_PAGES ||
	    addr + size < addr)
		return -HV_EINVAL;
	s64 err = region_pages(vm, kind, addr, size, gpa);
	if (err)
		return err;
	while (id < HV_REGION_MAX && vm->regions[id].live)
		id++;
	if (id == HV_REGION_MAX)
		return -HV_ENOSPC;
	if (!vm->emu && !(vm->emu = kalloc_pages(ALIGN_UP(sizeof(struct emu), PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE)))
		return -HV_ENOSPC;
	struct region *r = &vm->regions[id];
	memset(r, 0, sizeof(*r));
	r->live = true, r->kind = kind, r->addr = addr, r->size = size, r->npages = size / PAGE_SIZE;
	for (u32 i = 0; i < r->npages; i++) {
		r->gpa[i] = gpa[i];
		vm->page_region[gpa[i] / PAGE_SIZE] = id + 1;
		vm_set_monitored(vm, gpa[i], true);
	}
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->view_live[v])
			region_apply(vm, id, v);
	return id;
}

s64 region_remove(struct vm *vm, u64 id)
{
	if (id >= HV_REGION_MAX || !vm->regions[id].live)
		return -HV_EINVAL;
	if (vm->in_region == id + 1)
		return -HV_EBUSY; /* the vCPU is executing inside it */
	struct region *r = &vm->regions[id];
	region_unapply(vm, r);
	for (u32 i = 0; i < r->npages; i++) {
		vm->page_region[r->gpa[i] / PAGE_SIZE] = 0;
		vm_set_monitored(vm, r->gpa[i], false);
	}
	if (r->log)
		kfree_pages(r->log, LOG_PAGES);
	r->log = NULL;
	r->live = false;
	return 0;
}

/* vm_destroy: give back what the regions hold. */
void region_free_all(struct vm *vm)
{
	for (u32 id = 0; id < HV_REGION_MAX; id++)
		if (vm->regions[id].log)
			kfree_pages(vm->regions[id].log, LOG_PAGES);
}

s64 region_stats(struct vm *vm, u64 id, u64 gpa)
{
	if (id >= HV_REGION_MAX || !vm->regions[id].live || !IS_ALIGNED(gpa, 8))
		return -HV_EINVAL;
	struct hv_region_stats *dst = vm_gpa(vm, gpa, sizeof(*dst));
	if (!dst)
		return -HV_EFAULT;
	*dst = vm->regions[id].stats;
	return sizeof(*dst);
}

s64 region_log(struct vm *vm, u64 id, u64 on)
{
	if (id >= HV_REGION_MAX || !vm->regions[id].live || on > 1)
		return -HV_EINVAL;
	struct region *r = &vm->regions[id];
	if (on && !r->log && !(r->log = kalloc_pages(LOG_PAGES, PAGE_SIZE)))
		return -HV_ENOSPC;
	r->logging = on;
	if (on)
		r->log_next = r->log_read = 0;
	return 0;
}

s64 region_log_read(struct vm *vm, u64 id, u64 gpa, u64 max)
{
	if (id >= HV_REGION_MAX || !vm->regions[id].live || !IS_ALIGNED(gpa, 8) || max > HV_REGION_LOG)
		return -HV_EINVAL;
	struct hv_access *dst = vm_gpa(vm, gpa, max * sizeof(*dst));
	struct region *r = &vm->regions[id];
	if (!dst)
		return -HV_EFAULT;
	if (!r->log)
		return 0; /* never logged */
	if (r->log_next - r->log_read > HV_REGION_LOG)
		r->log_read = r->log_next - HV_REGION_LOG;
	u64 n = 0;
	for (; n < max && r->log_read < r->log_next; n++)
		dst[n] = r->log[r->log_read++ % HV_REGION_LOG];
	return n;
}
