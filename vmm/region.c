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
	struct region *r;              /* the region being run, or NULL (emulate_once) */
	bool precise;                  /* this run is one instruction: trap hits are counted */
	u64 ept_gpa, ept_gla, ept_q;   /* an EPT-denied access */
};

#define TRAP_PRECISE 0xfe /* emu_fault vector meaning "a trapped frame: again, one instruction alone" */

/* Rights for one access, as the CPU would check them: the guest page walk at the access's
 * privilege (through the current view), then the current view's policy for the page it reaches
 * (its rights, the frame it shows; policy.c). Monitors are the hypervisor's own: a region frame
 * may be fetched (that is what we emulate), a trapped one counts a hit and the access goes
 * through. A probe (map_page) only asks: it neither counts a hit nor records a violation, and
 * refuses trapped frames so that every access to them comes through here. */
static int translate(struct run_ctx *c, struct emu *e, u64 la, u32 kind, u64 *gpa, u32 *trap, struct emu_fault *f,
		     bool probe)
{
	struct gwalk_regs regs = {e->cpu.cr0, e->cpu.cr3, e->cpu.cr4, e->cpu.efer, emu_get_rflags(e), gwalk_this_cpu()};
	u32 acc = GW_SET_AD | (kind & EMU_ACC_WRITE ? GW_WRITE : 0) | (kind & EMU_ACC_FETCH ? GW_FETCH : 0) |
		  (kind & EMU_ACC_USER ? GW_USER : 0);
	struct page_info pi;
	u32 pf, rights;
	int rc = gwalk(&regs, la, acc, gpa, &pf, &rights, vm_table_entry, c->vm);
	if (rc) {
		*f = (struct emu_fault){.vector = rc == -1 ? 14 : EPT_FAULT, .has_error = true, .error_code = pf, .cr2 = la};
		c->ept_gpa = ~0UL; /* rc == -2: a paging structure outside guest RAM */
		return -1;
	}
	bool in_ram = policy_lookup(c->vm, c->vm->view, *gpa, &pi);
	u64 need = kind & EMU_ACC_WRITE ? HV_ACCESS_W : kind & EMU_ACC_FETCH ? HV_ACCESS_X : HV_ACCESS_R;
	if (in_ram && (pi.rights & need) && !(probe && pi.trap)) {
		*trap = pi.trap; /* counted by the caller once every page of the access passed */
		*gpa = pi.frame | (*gpa & (PAGE_SIZE - 1));
		if (kind & EMU_ACC_WRITE) /* fuzzing: the dirty set must have it (no EPT saw it) */
			dirty_note_write(c->vm, pi.frame / PAGE_SIZE);
		return 0;
	}
	if (probe)
		return -1;
	/* The view denies it: the violation the CPU would have had, with the leaf's rights. */
	u64 leaf = in_ram ? policy_leaf(c->vm, c->vm->view, *gpa / PAGE_SIZE) & EPT_RWX : 0;
	c->ept_q = (kind & EMU_ACC_WRITE ? EPT_VIOLATION_ACC_WRITE : kind & EMU_ACC_FETCH ? EPT_VIOLATION_ACC_INSTR
										      : EPT_VIOLATION_ACC_READ) |
		   (leaf << 3) | EPT_VIOLATION_GLA_VALID | EPT_VIOLATION_GVA_TRANSLATED;
	if (vmx_caps.ept_adv_info) /* bits 9-11: the translation's U/S, R/W and XD (SDM "Exit
				    * Qualification for EPT Violations") */
		c->ept_q |= (u64)rights << 9;
	c->ept_gpa = *gpa, c->ept_gla = la;
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
	u32 trap[2] = {0, 0}, first = PAGE_SIZE - (la & (PAGE_SIZE - 1));
	u64 need = kind & EMU_ACC_WRITE ? HV_ACCESS_W : kind & EMU_ACC_FETCH ? HV_ACCESS_X : HV_ACCESS_R;
	if (first > size)
		first = size;
	if (translate(c, e, la, kind, &gpa[0], &trap[0], f, false) ||
	    (first < size && translate(c, e, la + first, kind, &gpa[1], &trap[1], f, false)))
		return -1; /* nothing counted: the access did not happen (its retry will count) */
	if ((trap[0] || trap[1]) && !c->precise && !(kind & EMU_ACC_FETCH)) {
		/* A trap counts one hit per instruction, and a run of many instructions does not say
		 * which one is running: this one starts again, alone (run()). */
		*f = (struct emu_fault){.vector = TRAP_PRECISE};
		return -1;
	}
	for (int i = 0; i < 2; i++) /* vm->insn_seq names the instruction: run() set it */
		if (trap[i])
			policy_trap_hit(c->vm, trap[i], need);
	for (u32 done = 0, i = 0; done < size; i++) {
		u32 n = i == 0 ? first : size - first;
		u8 *host = vm_gpa(c->vm, gpa[i], n);
		if (kind & EMU_ACC_WRITE)
			memcpy(host, (u8 *)buf + done, n);
		else
			memcpy((u8 *)buf + done, host, n);
		done += n;
	}
	if (c->r && c->r->logging)
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
	u32 trap;
	if ((c->r && c->r->logging) || translate(c, c->vm->emu, la_page, kind, &gpa, &trap, &f, true))
		return NULL;
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

/* The interpreter, made on first use (a region or a trap), with this exit's context; its
 * translations are dropped since mappings may have changed, its decoded code is re-verified. */
static struct emu *emu_for(struct vm *vm, struct run_ctx *c)
{
	struct emu *e = vm->emu;
	if (!e && !(e = vm->emu = kalloc_pages(ALIGN_UP(sizeof(struct emu), PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE)))
		return NULL;
	if (!vm->emu_ready) {
		emu_init(e, &mem_ops, c);
		vm->emu_ready = true;
		if (vm->edge_map) /* an edge map set before the interpreter existed (region_set_edges) */
			emu_set_edges(e, vm->edge_map, FUZZ_EDGE_MAP);
	} else {
		e->ctx = c;
		emu_flush_tlb(e);
	}
	return e;
}

/* Edge coverage for fuzzing (edges.c): the interpreter counts into map from now on, starting
 * over from no previous edge; NULL: no more. */
void region_set_edges(struct vm *vm, u8 *map)
{
	vm->edge_map = map;
	if (vm->emu && vm->emu_ready)
		emu_set_edges(vm->emu, map, FUZZ_EDGE_MAP);
}

/* MOV SS delays debug traps by one instruction (SDM "MOV"): a TF step would run two. */
static bool is_mov_ss(const struct emu_result *res)
{
	u32 i = 0;
	while (i < res->nbytes && ((res->bytes[i] & 0xf0) == 0x40 || res->bytes[i] == 0x66 || res->bytes[i] == 0x67 ||
				   res->bytes[i] == 0xf2 || res->bytes[i] == 0xf3 || res->bytes[i] == 0xf0 ||
				   res->bytes[i] == 0x26 || res->bytes[i] == 0x2e || res->bytes[i] == 0x36 ||
				   res->bytes[i] == 0x3e || res->bytes[i] == 0x64 || res->bytes[i] == 0x65))
		i++;
	return i + 1 < res->nbytes && res->bytes[i] == 0x8e && ((res->bytes[i + 1] >> 3) & 7) == 2;
}

/* An instruction the interpreter leaves to the hypervisor or to the CPU (emu_glue.c finished
 * the ones it can: RDRAND.., INT n, INT3, INT1); the state is stored, RIP is at it. The CPU runs
 * it in one step with `rights` on page gpa of the current view. */
static struct emu_outcome cpu_instruction(struct vm *vm, const struct emu_result *res, u32 kind, u32 id, u64 gpa,
					   u64 rights)
{
	struct emu_outcome out = {.what = EMU_OUT_DONE};
	u32 flags = 0;
	if (res->reason == EMU_STOP_HYPERVISOR && (res->exit == EMU_X_IRET || res->exit == EMU_X_SYSRET))
		flags |= STEP_F_LOADS_RFLAGS;
	if (res->reason == EMU_STOP_HYPERVISOR && res->exit == EMU_X_SYSCALL)
		flags |= STEP_F_SYSCALL;
	if (!step_mtf_works() && is_mov_ss(res)) {
		printf("# vm: MOV SS at RIP 0x%lx needs a single step, and without the monitor trap flag a "
		       "RFLAGS.TF step would run two instructions; guest stopped\n", vmcs_read(GUEST_RIP));
		vm->stop = VM_STOP_BAD_GUEST;
		out.what = EMU_OUT_STOPPED;
	} else if (step_begin(vm, kind, id, gpa, rights, flags)) {
		printf("# vm: cannot single-step RIP 0x%lx (GPA 0x%lx); guest stopped\n", vmcs_read(GUEST_RIP), gpa);
		vm->stop = VM_STOP_BAD_GUEST;
		out.what = EMU_OUT_STOPPED;
	}
	return out;
}

/* A fault the interpreter raised, RIP at the faulting instruction (state stored): an EPT denial
 * goes back to the violation handler, an exception to the guest. */
static struct emu_outcome fault(struct vm *vm, const struct run_ctx *c, const struct emu_result *res)
{
	struct emu_outcome out = {.what = EMU_OUT_DONE};
	if (res->fault.vector == EPT_FAULT && c->ept_gpa == ~0UL) {
		printf("# region: the page walk for 0x%lx cannot be done (a paging structure outside guest RAM, or "
		       "5-level paging, which the interpreter does not walk); guest stopped\n", res->fault.cr2);
		vm->stop = VM_STOP_BAD_GUEST;
		out.what = EMU_OUT_STOPPED;
	} else if (res->fault.vector == EPT_FAULT) {
		out = (struct emu_outcome){.what = EMU_OUT_VIOLATION, .q = c->ept_q, .gpa = c->ept_gpa, .gla = c->ept_gla};
	} else if (vm->fuzz && fuzz_fault(vm, res->fault.vector, res->fault.vector == 14 ? res->fault.cr2 :
					  res->fault.error_code)) {
		out.what = EMU_OUT_STOPPED; /* a crash of a fuzzed target, as the CPU's would be (fuzz.c) */
	} else {
		if (res->fault.vector == 14)
			write_cr2(res->fault.cr2); /* the guest's #PF handler reads it from the CPU */
		vm_inject(vm, res->fault.vector, res->fault.has_error, res->fault.error_code);
		if (c->r)
			c->r->stats.faults++;
	}
	return out;
}

/* The guest page of a linear code address in the current view, for a step's rights. */
static u64 code_page(struct vm *vm, u64 rip)
{
	u64 gpa = ~0UL;
	u32 pf;
	if (vm_gva_to_gpa(vm, rip, GW_FETCH | (vm_cpl() == 3 ? GW_USER : 0), &gpa, &pf))
		return ~0UL;
	return ALIGN_DOWN(gpa, PAGE_SIZE);
}

/* Where the region lies in linear addresses now: the registered range for a GVA region fetched
 * through it; otherwise (a GPA region, or a GVA region reached through another mapping of its
 * frames) derived from the faulting fetch's frame and its index in the region, assuming the
 * region is mapped contiguously there (docs/regions.md). */
static void linear_range(const struct region *r, u64 frame, u64 gla, u64 *start, u64 *end)
{
	u32 i = 0;
	if (r->kind == HV_TRAP_GVA && gla - r->addr < r->size) {
		*start = r->addr;
	} else {
		while (i < r->npages && r->gpa[i] != ALIGN_DOWN(frame, PAGE_SIZE))
			i++;
		*start = ALIGN_DOWN(gla, PAGE_SIZE) - (u64)i * PAGE_SIZE;
	}
	*end = *start + r->size;
}

/* Run the interpreter from RIP within [start, end) for at most budget instructions. The stops
 * the hypervisor finishes itself are handled here (emu_glue.c): RDRAND, RDSEED and RDPID are
 * completed and the run goes on; INT n, INT3, INT1 and the #DB of the guest's single step or
 * breakpoint are injected, and *event says so. The state is stored in the VMCS afterwards. */
static struct emu_result run(struct vm *vm, struct emu *e, struct run_ctx *c, u64 start, u64 end, u64 budget,
			     bool *event)
{
	struct emu_result res;
	u64 done = 0;
	int glue = 0;
	c->precise = budget == 1;
	for (;;) {
		res = emu_run(e, start, end, c->precise ? 1 : budget - done);
		done += res.executed;
		vm->insn_seq += res.executed; /* each retired instruction ends a key (trap hits) */
		if (res.reason == EMU_STOP_FAULT && res.fault.vector == TRAP_PRECISE) {
			c->precise = true; /* that instruction again, alone */
			continue;
		}
		glue = res.reason == EMU_STOP_BUDGET ? 0 : emu_glue_stop(vm, e, &res);
		if (glue > 0) /* completed by the hypervisor: one more instruction */
			done++, vm->insn_seq++;
		bool more = glue > 0 || (c->precise && budget > 1 && res.reason == EMU_STOP_BUDGET);
		if (!more || done >= budget)
			break;
		c->precise = false; /* whole runs again after the trapped instruction */
	}
	if (glue > 0)
		res.reason = EMU_STOP_BUDGET;
	res.executed = done;
	*event = glue < 0;
	store_state(vm, e);
	return res;
}

/* A fetch from a region frame: run it in the interpreter until it leaves the region. */
struct emu_outcome region_enter(struct vm *vm, u32 id, u64 frame, u64 gla)
{
	struct region *r = &vm->sh->regions[id];
	struct run_ctx c = {.vm = vm, .r = r};
	struct emu_outcome out = {.what = EMU_OUT_DONE};
	struct emu *e = emu_for(vm, &c);
	u64 start, end, total = 0;
	struct emu_result res;
	bool event = false;
	r->stats.entries++;
	vm->region_entries++;
	if (!vm->in_region) /* this exit brought us in; exits while inside are counted by vm_run */
		r->stats.exits++;
	linear_range(r, frame, gla, &start, &end);
	if (!e || load_state(vm, e)) {
		printf("# region: no state for the interpreter at RIP 0x%lx (it runs 64-bit code only); "
		       "guest stopped\n", vmcs_read(GUEST_RIP));
		vm->stop = VM_STOP_BAD_GUEST;
		return (struct emu_outcome){.what = EMU_OUT_STOPPED};
	}
	vm->in_region = id + 1;
	if (e->cpu.rip - start >= end - start) {
		/* The fetch that brought us here is of an instruction that begins before the region
		 * and ends in it: that one instruction is the region's too (found by guest_fuzz,
		 * its finding E: it was never run and faulted again forever). */
		res = run(vm, e, &c, 0, ~0UL, 1, &event);
		r->stats.instructions += res.executed;
		total += res.executed;
		if (res.reason == EMU_STOP_BUDGET && !event && e->cpu.rip - start >= end - start)
			res.reason = EMU_STOP_LEFT_REGION; /* it left again at once */
		else if (res.reason == EMU_STOP_BUDGET && !event)
			goto inside;
		goto done;
	}
inside:
	do { /* a used budget bounds one exit; a vCPU that takes interrupts (vintr.c) runs shorter
	      * chunks and stops at the boundary where one is pending (or it was kicked) */
		res = run(vm, e, &c, start, end, vm->intr_exits ? VINTR_REGION_CHUNK : RUN_BUDGET, &event);
		r->stats.instructions += res.executed;
		total += res.executed;
	} while (res.reason == EMU_STOP_BUDGET && !event && total < EXIT_BUDGET &&
		 !(vm->run_deadline && rdtsc() >= vm->run_deadline) && /* the watchdog decides at the exit */
		 !vintr_should_yield(vm));
done:
	if (event) { /* INT n, INT3, INT1 or a #DB: the guest goes to its handler on the CPU */
		vm->in_region = 0;
		return out;
	}
	switch (res.reason) {
	case EMU_STOP_LEFT_REGION:
		vm->in_region = 0;
		return out;
	case EMU_STOP_BUDGET:
		return out; /* the guest resumes at RIP in the region: the next fetch re-enters */
	case EMU_STOP_FAULT:
		vm->in_region = 0;
		return fault(vm, &c, &res);
	case EMU_STOP_UNSUPPORTED:
		r->stats.unsupported++;
		__attribute__((fallthrough)); /* the CPU runs it, in a step */
	default:
		out = cpu_instruction(vm, &res, STEP_REGION, id, code_page(vm, e->cpu.rip), EPT_X);
		if (vm->step.open)
			r->stats.stepped++;
		else /* an event injected (INT n), or the guest stopped: not inside any more */
			vm->in_region = 0;
		return out;
	}
}

/* A violation on a trapped frame that the view allows: run that one instruction in the
 * interpreter, which counts the trap's hits as it makes the accesses. Where it cannot (an
 * event being delivered, an instruction it leaves to the CPU, no 64-bit state), the hit is
 * counted from the qualification and the CPU runs the instruction in a single step with the
 * view's rights on the page. */
struct emu_outcome emulate_once(struct vm *vm, u32 trap_plus_1, u64 q, u64 gpa)
{
	struct run_ctx c = {.vm = vm};
	struct emu *e = emu_for(vm, &c);
	struct emu_result res = {.reason = EMU_STOP_UNSUPPORTED};
	bool event = false;
	if (e && load_state(vm, e) == 0) {
		res = run(vm, e, &c, 0, ~0UL, 1, &event);
		if (res.reason == EMU_STOP_BUDGET || event)
			return (struct emu_outcome){.what = EMU_OUT_DONE};
		if (res.reason == EMU_STOP_FAULT)
			return fault(vm, &c, &res);
	}
	policy_trap_hit(vm, trap_plus_1, q & 7);
	return cpu_instruction(vm, &res, STEP_TRAP, trap_plus_1 - 1, gpa, EPT_RWX);
}

/* Guest-physical frames of [addr, addr+size): given (GPA), or translated now through the
 * guest's page tables and the current view (GVA). Every frame must be in RAM, distinct, and
 * carry no region or trap. */
static s64 region_frames(struct vm *vm, u64 kind, u64 addr, u64 size, u64 *frame)
{
	for (u64 i = 0; i < size / PAGE_SIZE; i++) {
		struct page_info pi;
		u64 gpa = addr + i * PAGE_SIZE;
		u32 pf;
		if (kind == HV_TRAP_GVA && vm_gva_to_gpa(vm, gpa, 0, &gpa, &pf))
			return -HV_EFAULT;
		if (!policy_lookup(vm, view_current(vm), gpa, &pi))
			return -HV_EFAULT;
		frame[i] = kind == HV_TRAP_GPA ? ALIGN_DOWN(gpa, PAGE_SIZE) : pi.frame;
		if (vm->sh->pol.region[frame[i] / PAGE_SIZE] || vm->sh->pol.trap[frame[i] / PAGE_SIZE])
			return -HV_EBUSY; /* overlaps a region or a trap */
		for (u64 j = 0; j < i; j++)
			if (frame[j] == frame[i])
				return -HV_EINVAL; /* two addresses of the range share a frame */
	}
	return 0;
}

static void set_frames(struct vm *vm, struct region *r, u32 n, u32 id_plus_1)
{
	for (u32 i = 0; i < n; i++)
		policy_set_region(vm, r->gpa[i], id_plus_1); /* 4 KiB leaves already: cannot fail */
}

s64 region_add(struct vm *vm, u64 kind, u64 addr, u64 size)
{
	u64 frame[HV_REGION_PAGES];
	u32 id = 0;
	if (kind > HV_TRAP_GVA || size == 0 || !IS_ALIGNED(addr | size, PAGE_SIZE) || size / PAGE_SIZE > HV_REGION_PAGES ||
	    addr + size < addr)
		return -HV_EINVAL;
	s64 err = region_frames(vm, kind, addr, size, frame);
	if (err)
		return err;
	while (id < HV_REGION_MAX && vm->sh->regions[id].live)
		id++;
	if (id == HV_REGION_MAX)
		return -HV_ENOSPC;
	struct region *r = &vm->sh->regions[id];
	memset(r, 0, sizeof(*r));
	r->kind = kind, r->addr = addr, r->size = size, r->npages = size / PAGE_SIZE;
	for (u32 i = 0; i < r->npages; i++) {
		r->gpa[i] = frame[i];
		if (policy_set_region(vm, frame[i], id + 1)) { /* out of memory: undo */
			set_frames(vm, r, i, 0);
			return -HV_ENOSPC;
		}
	}
	r->live = true;
	return id;
}

s64 region_remove(struct vm *vm, u64 id)
{
	if (id >= HV_REGION_MAX || !vm->sh->regions[id].live)
		return -HV_EINVAL;
	if (vm->in_region == id + 1)
		return -HV_EBUSY; /* the vCPU is executing inside it */
	struct region *r = &vm->sh->regions[id];
	set_frames(vm, r, r->npages, 0);
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
		if (vm->sh->regions[id].log)
			kfree_pages(vm->sh->regions[id].log, LOG_PAGES);
}

s64 region_stats(struct vm *vm, u64 id, u64 gpa)
{
	if (id >= HV_REGION_MAX || !vm->sh->regions[id].live || !IS_ALIGNED(gpa, 8))
		return -HV_EINVAL;
	struct hv_region_stats *dst = vm_gpa(vm, gpa, sizeof(*dst));
	if (!dst)
		return -HV_EFAULT;
	*dst = vm->sh->regions[id].stats;
	return sizeof(*dst);
}

s64 region_log(struct vm *vm, u64 id, u64 on)
{
	if (id >= HV_REGION_MAX || !vm->sh->regions[id].live || on > 1)
		return -HV_EINVAL;
	struct region *r = &vm->sh->regions[id];
	if (on && !r->log && !(r->log = kalloc_pages(LOG_PAGES, PAGE_SIZE)))
		return -HV_ENOSPC;
	r->logging = on;
	if (on)
		r->log_next = r->log_read = 0;
	return 0;
}

s64 region_log_read(struct vm *vm, u64 id, u64 gpa, u64 max)
{
	if (id >= HV_REGION_MAX || !vm->sh->regions[id].live || !IS_ALIGNED(gpa, 8) || max > HV_REGION_LOG)
		return -HV_EINVAL;
	struct hv_access *dst = vm_gpa(vm, gpa, max * sizeof(*dst));
	struct region *r = &vm->sh->regions[id];
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
