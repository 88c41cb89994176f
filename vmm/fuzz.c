/* fuzz.c: snapshot fuzzing of a guest function (docs/fuzzing.md). The guest calls
 * HC_FUZZ_SNAPSHOT(buf, max) right before its target; the hypervisor saves the guest there
 * (snapshot.c) and from then on runs iterations: write an input into buf (its size in RAX, the
 * hypercall's result), resume, run until HC_FUZZ_END, a crash or the time limit, then restore the
 * pages the iteration wrote (dirty.c) and the state. Crashes: the exceptions of crash_vectors,
 * intercepted through the exception bitmap before the guest's handler runs, a triple fault, an
 * access outside guest RAM, HC_FUZZ_PANIC. RDRAND/RDSEED come from a generator seeded per
 * iteration, RDTSC/RDTSCP from a clock that starts at the same value every iteration. The time
 * limit is the watchdog's (TSC cycles; the VMX-preemption timer counts them divided by
 * 2^IA32_VMX_MISC[4:0]). Not here: mutations and the corpus (mutate.c), coverage (cover.c). */
#include "fuzz.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define EXIT_REASON_PML_FULL 62
#define VTSC_START 0x100000000UL /* the guest's TSC at the snapshot, every iteration */
#define VTSC_STEP 64             /* what one RDTSC advances it by */
/* #DE #UD #DF #SS #GP #PF #AC (SDM "Exception Classifications") */
static const u32 crash_vectors = BIT(0) | BIT(6) | BIT(8) | BIT(12) | BIT(13) | BIT(14) | BIT(17);
static const char *const dirty_names[] = {"wp", "ad", "pml"};

static u64 pages(u64 bytes) { return ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE; }

const char *fuzz_dirty_name(u32 m) { return m < FUZZ_DIRTY_N ? dirty_names[m] : "?"; }

int fuzz_dirty_parse(const char *s)
{
	for (u32 m = 0; m < FUZZ_DIRTY_N; m++)
		if (!strcmp(s, dirty_names[m]))
			return m;
	return -1;
}

/* splitmix64: small, fast, and the same sequence on every run for one seed. */
u64 fuzz_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

const char *fuzz_kind_name(u32 v)
{
	static const char *const exc[32] = {[0] = "#DE", [6] = "#UD", [8] = "#DF", [12] = "#SS", [13] = "#GP",
					    [14] = "#PF", [17] = "#AC", [3] = "#BP"};
	if (v < 32 && exc[v])
		return exc[v];
	return v == FUZZ_KIND_TRIPLE ? "triple fault" : v == FUZZ_KIND_OUTSIDE ? "access outside RAM" :
	       v == FUZZ_KIND_PANIC ? "panic" : v == FUZZ_KIND_EXIT ? "exit in target" : "?";
}

/* Give a VM a fuzzer: NULL, or why not (a method this CPU lacks, no memory). */
const char *fuzz_attach(struct vm *vm, u32 method, u64 seed, u64 limit_tsc)
{
	const char *why = dirty_unsupported(method);
	if (why)
		return why;
	struct fuzz *fz = kalloc_pages(pages(sizeof(*fz)), PAGE_SIZE);
	if (!fz)
		return "out of memory";
	memset(fz, 0, sizeof(*fz));
	fz->method = method, fz->seed = seed, fz->limit_tsc = limit_tsc;
	fz->mark = kalloc_pages(pages(vm->sh->pol.npages), PAGE_SIZE);
	fz->list = kalloc_pages(pages(vm->sh->pol.npages * sizeof(u32)), PAGE_SIZE);
	vm->fuzz = fz;
	if (!fz->mark || !fz->list || snap_alloc(vm, &fz->snap)) {
		fuzz_detach(vm);
		return "out of memory for the snapshot (a copy of guest RAM)";
	}
	memset(fz->mark, 0, vm->sh->pol.npages);
	return NULL;
}

void fuzz_detach(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	if (!fz)
		return;
	if (fz->snapped && !VMX_CHECK("VMPTRLD", __vmptrld((u64)vm->vmcs)))
		dirty_stop(vm);
	cover_detach(vm);
	edges_detach(vm);
	snap_free(vm, &fz->snap);
	if (fz->mark)
		kfree_pages(fz->mark, pages(vm->sh->pol.npages));
	if (fz->list)
		kfree_pages(fz->list, pages(vm->sh->pol.npages * sizeof(u32)));
	kfree_pages(fz, pages(sizeof(*fz)));
	vm->fuzz = NULL;
}

/* The controls fuzzing needs: crash exceptions (and #BP for coverage) intercepted, RDTSC and,
 * where the CPU can, RDRAND and RDSEED exiting. */
static void set_controls(struct vm *vm)
{
	u32 p2 = vmcs_read(SECONDARY_VM_EXEC_CONTROL);
	u32 want = (SECONDARY_EXEC_RDRAND_EXITING | SECONDARY_EXEC_RDSEED_EXITING) & vmx_caps.proc2.allowed1;
	vmcs_write(EXCEPTION_BITMAP, vmcs_read(EXCEPTION_BITMAP) | crash_vectors | (vm->fuzz->cov ? BIT(3) : 0));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_read(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_RDTSC_EXITING);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, p2 | want);
}

/* Run the booted guest to its HC_FUZZ_SNAPSHOT and take the snapshot. NULL, or what failed. */
const char *fuzz_start(struct vm *vm)
{
	struct fuzz *fz = vm->fuzz;
	vm_run(vm);
	if (vm->stop != VM_STOP_FUZZ || fz->event != FEV_SNAPSHOT)
		return "the guest stopped before its HC_FUZZ_SNAPSHOT";
	snap_take(vm, &fz->snap);
	if (fz->cov)
		cover_plant(vm);
	const char *why = fz->edges ? edges_start(vm) : NULL;
	if (why)
		return why;
	set_controls(vm);
	if (dirty_start(vm) || dirty_rearm_initial(vm))
		return "dirty tracking could not start (out of memory or INVEPT failed)";
	fz->snapped = true;
	vm->watchdog_tsc = fz->limit_tsc;
	return NULL;
}

static void classify(struct vm *vm, struct fuzz_result *r)
{
	struct fuzz *fz = vm->fuzz;
	if (vm->stop == VM_STOP_FUZZ && fz->event == FEV_END)
		return;
	if (vm->stop == VM_STOP_FUZZ && fz->event == FEV_CRASH)
		return;
	r->rip = vmcs_read(GUEST_RIP);
	r->outcome = FUZZ_CRASH;
	if (vm->stop == VM_STOP_WATCHDOG)
		r->outcome = FUZZ_TIMEOUT;
	else if (vm->stop == VM_STOP_TRIPLE_FAULT)
		r->vector = FUZZ_KIND_TRIPLE;
	else if (vm->stop == VM_STOP_EPT_VIOLATION)
		r->vector = FUZZ_KIND_OUTSIDE, r->status = vm->stop_gpa;
	else if (vm->stop == VM_STOP_EXIT || vm->stop == VM_STOP_HLT)
		r->vector = FUZZ_KIND_EXIT;
	else
		r->outcome = FUZZ_ERROR;
}

/* One iteration: input in, run, restore. The VM is at its snapshot again afterwards. */
struct fuzz_result fuzz_one(struct vm *vm, const u8 *in, u64 n)
{
	struct fuzz *fz = vm->fuzz;
	n = n > fz->buf_max ? fz->buf_max : n;
	memcpy(vm->ram + fz->buf, in, n);
	for (u64 a = fz->buf & ~(PAGE_SIZE - 1); a < fz->buf + n; a += PAGE_SIZE)
		dirty_mark(vm, a / PAGE_SIZE); /* the hypervisor's write: no EPT flag sees it */
	vm->regs[0] = n;
	fz->rand = fz->seed, fz->vtsc = VTSC_START;
	fz->cur = (struct fuzz_result){.outcome = FUZZ_OK};
	fz->event = FEV_NONE;
	u64 exits = vm->stats.total;
	if (fz->edges)
		edges_begin(vm);
	fz->running = vm->cov_later = true;
	vm_run(vm);
	fz->running = vm->cov_later = false;
	classify(vm, &fz->cur);
	if (fz->edges)
		fz->cur.new_cov = edges_collect(vm);
	if (fz->cur.outcome != FUZZ_OK) {
		memcpy(fz->crash_regs, vm->regs, sizeof(vm->regs));
		fz->crash_regs[4] = vmcs_read(GUEST_RSP);
		fz->crash_regs[16] = vmcs_read(GUEST_RIP), fz->crash_regs[17] = vmcs_read(GUEST_RFLAGS);
	}
	fz->cur.exits = vm->stats.total - exits;
	u64 t0 = rdtsc();
	dirty_harvest(vm);
	cov_guest_collect_marked(vm, fz->mark); /* COVERAGE=1 only */
	fz->cur.dirty = fz->nlast = fz->nlist;
	memcpy(fz->last, fz->list, (fz->nlist < 64 ? fz->nlist : 64) * sizeof(u32));
	for (u64 i = 0; i < fz->nlist; i++)
		snap_restore_page(vm, &fz->snap, fz->list[i]);
	snap_restore_state(vm, &fz->snap);
	vm->sh->pol.dirty |= BIT(view_current(vm)); /* restored page tables: no stale translation */
	dirty_rearm(vm);
	fz->restore_tsc += rdtsc() - t0;
	fz->execs++;
	fz->crashes += fz->cur.outcome == FUZZ_CRASH;
	fz->timeouts += fz->cur.outcome == FUZZ_TIMEOUT;
	fz->dirty_total += fz->cur.dirty;
	fz->exits_total += fz->cur.exits;
	return fz->cur;
}

/* Hypercalls. CPL 3 never gets here (hypercall.c refuses them with -EPERM). */
s64 fuzz_hc_snapshot(struct vm *vm, u64 gpa, u64 max)
{
	struct fuzz *fz = vm->fuzz;
	if (!fz)
		return -HV_ENOSYS;
	if (fz->snapped || fz->event == FEV_SNAPSHOT)
		return -HV_EBUSY; /* one snapshot per VM */
	if (max == 0 || max > HV_FUZZ_INPUT_MAX)
		return -HV_EINVAL;
	if (!vm_gpa(vm, gpa, max))
		return -HV_EFAULT;
	fz->buf = gpa, fz->buf_max = max;
	fz->event = FEV_SNAPSHOT;
	vm->stop = VM_STOP_FUZZ; /* fuzz_start takes it once the VMCALL is complete */
	return 0;
}

s64 fuzz_hc_end(struct vm *vm, u64 status)
{
	struct fuzz *fz = vm->fuzz;
	if (!fz)
		return -HV_ENOSYS;
	if (!fz->running)
		return -HV_EINVAL; /* no snapshot, or not in an iteration */
	fz->cur.status = status;
	fz->event = FEV_END;
	vm->stop = VM_STOP_FUZZ;
	return 0;
}

s64 fuzz_hc_panic(struct vm *vm, u64 code)
{
	struct fuzz *fz = vm->fuzz;
	if (!fz)
		return -HV_ENOSYS;
	if (!fz->running)
		return -HV_EINVAL;
	fz->cur = (struct fuzz_result){.outcome = FUZZ_CRASH, .vector = FUZZ_KIND_PANIC, .status = code,
				       .rip = vmcs_read(GUEST_RIP)};
	fz->event = FEV_CRASH;
	vm->stop = VM_STOP_FUZZ;
	return 0;
}

/* An exception of the guest during an iteration, at GUEST_RIP: a crash (true), or not one
 * (false: the guest's handler gets it). info: CR2 for #PF, else the error code. */
bool fuzz_fault(struct vm *vm, u8 vector, u64 info)
{
	struct fuzz *fz = vm->fuzz;
	if (!fz->running || vector >= 32 || !(crash_vectors & BIT(vector)))
		return false;
	fz->cur = (struct fuzz_result){.outcome = FUZZ_CRASH, .vector = vector, .rip = vmcs_read(GUEST_RIP), .status = info};
	fz->event = FEV_CRASH;
	vm->stop = VM_STOP_FUZZ;
	return true;
}

/* An intercepted exception (exit.c): a coverage breakpoint, a crash, or not ours (false). The
 * interpreter's faults come through fuzz_fault (region.c). */
bool fuzz_exception(struct vm *vm, u8 vector)
{
	struct fuzz *fz = vm->fuzz;
	if (fz->running && vector == 3 && fz->cov)
		return cover_hit(vm);
	return fuzz_fault(vm, vector, vector == 14 ? vm->exit.qual : vm->exit.intr_error);
}

/* RDRAND/RDSEED in an emulated region during an iteration: the value the exit would get. */
bool fuzz_random(struct vm *vm, u64 *v)
{
	if (!vm->fuzz || !vm->fuzz->running)
		return false;
	*v = fuzz_rand(&vm->fuzz->rand);
	return true;
}

/* RDRAND/RDSEED r16/r32/r64 (SDM "RDRAND"): the next value of the seeded generator, CF = 1
 * (a value is ready), OF SF ZF AF PF = 0. The register and size: the VM-exit instruction
 * information (SDM "VM-Exit Instruction-Information Field", for RDRAND and RDSEED). */
static void answer_rdrand(struct vm *vm)
{
	u64 info = vmcs_read(VMX_INSTRUCTION_INFO), rsp, v = fuzz_rand(&vm->fuzz->rand);
	int reg = (info >> 3) & 15, size = (info >> 11) & 3;
	u64 *r = vcpu_gpr(vm, reg, &rsp);
	*r = size == 0 ? (*r & ~0xffffUL) | (v & 0xffff) : size == 1 ? (u32)v : v;
	if (reg == 4)
		vmcs_write(GUEST_RSP, rsp);
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~0x8d5UL) | X86_RFLAGS_CF);
	vm_skip_instruction(vm);
}

static void answer_rdtsc(struct vm *vm, bool p)
{
	u64 t = vm->fuzz->vtsc, aux;
	vm->fuzz->vtsc += VTSC_STEP;
	vm->regs[0] = (u32)t, vm->regs[2] = t >> 32;
	if (p)
		vm->regs[1] = rdmsr_safe(0xc0000103, &aux) ? 0 : (u32)aux; /* TSC_AUX */
	vm_skip_instruction(vm);
}

/* Exits only a fuzzed VM takes (exit.c's default case asks here first). */
bool fuzz_exit(struct vm *vm, u32 reason)
{
	switch (reason) {
	case EXIT_REASON_RDRAND:
	case EXIT_REASON_RDSEED:
		answer_rdrand(vm);
		return true;
	case EXIT_REASON_RDTSC:
	case EXIT_REASON_RDTSCP:
		answer_rdtsc(vm, reason == EXIT_REASON_RDTSCP);
		return true;
	case EXIT_REASON_PML_FULL:
		if (vm->fuzz->method != FUZZ_DIRTY_PML)
			return false;
		dirty_pml_full(vm);
		return true;
	default:
		return false;
	}
}

/* During an iteration only these hypercalls: the others change hypervisor state the restore
 * does not put back, or write guest memory behind dirty tracking's back. */
bool fuzz_hc_allowed(struct vm *vm, u64 nr)
{
	return !vm->fuzz || !vm->fuzz->running || nr == HC_VERSION || nr == HC_CHECK || nr == HC_FUZZ_END ||
	       nr == HC_FUZZ_PANIC || nr == HC_FUZZ_SNAPSHOT;
}
