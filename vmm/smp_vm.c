/* smp_vm.c: the hypervisor on every CPU (docs/smp.md). VMXON on each CPU (its own VMXON
 * region; IA32_FEATURE_CONTROL checked there), a VM's further vCPUs (vCPU i on CPU i, each a
 * struct vm of its own: VMCS, VPID, active view, #VE page, step and region state, watchdog,
 * statistics; sharing guest RAM and vCPU 0's struct vm_shared: the views, the EPTP list, the
 * page policy and the regions, so a change any vCPU makes is every vCPU's), HC_VCPU_START/STATUS/INFO, and the EPT shootdown policy_flush() ends with: signal
 * every other CPU that runs the VM, each INVEPTs the changed views' EPTPs and acknowledges, the
 * initiator waits (bounded; a CPU that does not answer is reported). The signal is an NMI with
 * NMI exiting: it reaches a CPU in its guest whatever the guest's RFLAGS.IF (Bochs 2.7 does not
 * make external interrupts exit from a guest entered with IF = 0, see vmx_entry.S), and in the
 * host whatever the host's IF. Not here: scheduling (a vCPU owns its CPU until it stops), an
 * emulated local APIC. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define SD_TIMEOUT_US 100000   /* a shootdown's bounded wait */
#define STOP_TIMEOUT_US 500000 /* a kicked vCPU's */

struct vm_smp {
	struct vm *vcpu[SMP_MAX_CPUS];       /* [0] = the boot vCPU; [i] runs on CPU i */
	volatile u32 state[SMP_MAX_CPUS];    /* HV_VCPU_* */
	volatile u32 running;                /* vCPUs inside vm_run on their CPU */
	volatile u32 in_guest;               /* vCPUs between VM entry and VM exit (bit i: vCPU i) */
	volatile u32 hold_by;                /* vCPU id + 1 whose step holds the others out, or 0 */
	struct spinlock check_lock;          /* HC_CHECKs of every vCPU go to one KTAP case */
	void (*check)(bool ok, const char *text);
	u64 start_rip[SMP_MAX_CPUS], start_rsp[SMP_MAX_CPUS], start_arg[SMP_MAX_CPUS];
	struct vm_smp_stats stats;
};

/* Per CPU: the shootdown mailbox (written by the holder of sd_lock, read by its CPU). */
struct sd_box {
	volatile u64 req, ack;
	u32 n;
	u64 eptp[HV_VIEW_MAX];
	u64 invepts;
};
static struct sd_box boxes[SMP_MAX_CPUS];
static struct spinlock sd_lock = SPINLOCK_INIT("shootdown");
static struct spinlock vpid_lock = SPINLOCK_INIT("vpid");
static u16 next_smp_vpid = 0x8000; /* secondary vCPUs' VPIDs: apart from vm.c's */

/* ---- VMX on every CPU ---- */

static void vmx_on_here(void *ok) { ((volatile int *)ok)[cpu_id()] = vmx_is_on() || vmx_on() == 0; }
static void vmx_off_here(void *unused) { (void)unused; if (vmx_is_on()) vmx_off(); }

/* Every online CPU in VMX operation; -1 (reported) when one is not. */
int smp_vmx_on_all(void)
{
	static volatile int ok[SMP_MAX_CPUS];
	int err = 0;
	vmx_on_here((void *)ok);
	for (u32 i = 1; i < SMP_MAX_CPUS; i++) {
		if (smp_cpus[i].state != CPU_ONLINE)
			continue;
		ok[i] = 0;
		if (smp_call(i, vmx_on_here, (void *)ok) || smp_call_wait(i, STOP_TIMEOUT_US) || !ok[i]) {
			printf("# smp: VMXON failed on CPU %u\n", i);
			err = -1;
		}
	}
	return ok[0] ? err : -1;
}

void smp_vmx_off_all(void)
{
	for (u32 i = 1; i < SMP_MAX_CPUS; i++)
		if (smp_cpus[i].state == CPU_ONLINE && !smp_call(i, vmx_off_here, NULL))
			smp_call_wait(i, STOP_TIMEOUT_US);
	vmx_off_here(NULL);
}

static void ask_on(void *out) { ((volatile u32 *)out)[cpu_id()] = vmx_is_on(); }

u32 smp_vmx_cpus(void)
{
	static volatile u32 on[SMP_MAX_CPUS];
	u32 n = vmx_is_on();
	for (u32 i = 1; i < SMP_MAX_CPUS; i++) {
		on[i] = 0;
		if (smp_cpus[i].state == CPU_ONLINE && !smp_call(i, ask_on, (void *)on) && !smp_call_wait(i, STOP_TIMEOUT_US))
			n += on[i];
	}
	return n;
}

/* ---- the shootdown ---- */

/* TEST ONLY: CPUs (bit i: CPU i) that ignore shootdown requests, as a CPU that hangs would. */
static volatile u32 sd_deaf;
void smp_test_deaf(u32 cpus) { sd_deaf = cpus; }

/* This CPU's pending shootdown request: INVEPT each EPTP, then acknowledge. */
static void sd_serve(void)
{
	struct sd_box *b = &boxes[cpu_id()];
	u64 req = b->req;
	if (req == b->ack || (sd_deaf & BIT(cpu_id())))
		return;
	u64 type = vmx_caps.invept_single ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	for (u32 i = 0; i < b->n; i++)
		if (vmx_is_on() && VMX_CHECK("INVEPT", __invept(type, b->eptp[i])) == VMX_OK)
			b->invepts++;
	__asm__ volatile("" ::: "memory");
	b->ack = req;
}

static void signal_cpu(u32 c) { lapic_send_nmi(smp_cpus[c].apic_id); }
static void kick_irq(u32 v) { (void)v; }

/* The kernel's waits (smp_call_wait, the AP's idle loop) serve requests too. */
static void wait_hook(void) { sd_serve(); }

static void smp_vm_init_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	irq_register(IRQ_VEC_KICK, kick_irq);
	extern void (*smp_wait_hook)(void), (*smp_nmi_work)(void);
	smp_wait_hook = wait_hook;
	smp_nmi_work = wait_hook;
}

/* After a change of the views in `views` (bit v: view v) made on this CPU and INVEPTed here:
 * the same on every other CPU running one of the VM's vCPUs, before the change call returns.
 * One shootdown at a time machine-wide; a CPU waiting for its turn serves the others'. */
int smp_shootdown(struct vm *vm, u32 views)
{
	struct vm_smp *s = vm->smp;
	struct vm *boss = s->vcpu[0];
	u32 me = cpu_id(), targets = 0;
	int err = 0;
	if (boss->smp_no_remote_invept) { /* the test-only switch: the bug this function prevents */
		s->stats.skipped++;
		return 0;
	}
	u64 t0 = rdtsc();
	while (!spin_trylock(&sd_lock))
		sd_serve();
	for (u32 c = 0; c < SMP_MAX_CPUS; c++) {
		if (c == me || !(s->running & BIT(c)))
			continue;
		/* EXERCISE(10): the remote invalidation (docs/exercises/10-smp.md): CPU c runs a vCPU
		 * of this VM. Fill its mailbox boxes[c] with the EPTPs of the changed views (bit v of
		 * `views`, live views only), then make the request visible (b->req++), note c in
		 * `targets` (the wait below needs it) and signal it (signal_cpu: an NMI).
		 * [uses vm, views, c] */
		struct sd_box *b = &boxes[c];
		b->n = 0;
		for (u32 v = 0; v < HV_VIEW_MAX; v++)
			if ((views & BIT(v)) && vm->sh->view_live[v])
				b->eptp[b->n++] = ept_eptp(&vm->sh->views[v]);
		__asm__ volatile("" ::: "memory");
		b->req++;
		targets |= BIT(c);
		signal_cpu(c);
		/* END EXERCISE(10) */
	}
	u64 limit = us_to_tsc(SD_TIMEOUT_US);
	for (u32 c = 0; c < SMP_MAX_CPUS; c++) {
		if (!(targets & BIT(c)))
			continue;
		while (boxes[c].ack != boxes[c].req && rdtsc() - t0 < limit) {
			sd_serve();
			__asm__ volatile("pause");
		}
		if (boxes[c].ack != boxes[c].req) {
			printf("# smp: shootdown: CPU %u did not acknowledge the INVEPT within %u ms\n", c,
			       SD_TIMEOUT_US / 1000);
			s->stats.timeouts++;
			err = -HV_ETIMEDOUT;
		} else {
			s->stats.remote_acks++;
		}
	}
	spin_unlock(&sd_lock);
	s->stats.shootdowns++;
	s->stats.last_tsc = rdtsc() - t0;
	return err;
}

/* An external-interrupt exit (acknowledge-interrupt-on-exit: the vector is in the exit's
 * interruption information, SDM "VM-Exit Controls"): handled as the IDT would, then EOI. */
void smp_external_interrupt(struct vm *vm)
{
	u32 info = vmcs_read(VM_EXIT_INTR_INFO);
	u32 v = info & 0xff;
	if (!(info & INTR_INFO_VALID_MASK))
		return; /* not acknowledged on exit: it stays pending for the host */
	struct cpu *c = this_cpu();
	c->irqs++;
	if (v != IRQ_VEC_SPURIOUS)
		lapic_eoi();
	sd_serve(); /* whatever the vector: a request may have come with it */
	if (vm->kick) {
		vm->stop = VM_STOP_KICKED;
		vm->kick = false;
	}
}

/* An NMI exit (NMI exiting): the NMI is the host's. After a VM exit caused by an NMI, NMIs are
 * blocked until the next IRET (SDM "Architectural State Before a VM Exit": an NMI that causes a VM exit blocks later NMIs), so one
 * IRET to the next instruction unblocks them before anything else. */
void smp_nmi_exit(struct vm *vm)
{
	__asm__ volatile("mov %%rsp, %%rax\n\t"
			 "pushq %[ss]\n\t"
			 "pushq %%rax\n\t"
			 "pushfq\n\t"
			 "pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "iretq\n"
			 "1:"
			 :
			 : [ss] "i"(KERNEL_DS), [cs] "i"(KERNEL_CS)
			 : "rax", "memory");
	/* The NMI was the host's: the guest never saw it, so it must not be left blocking the
	 * guest's NMIs (Bochs 2.7 saves "blocking by NMI" set after an NMI exit, and every later
	 * NMI would then wait in the guest for an IRET that never comes). */
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (intr & GUEST_INTR_STATE_NMI)
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~GUEST_INTR_STATE_NMI), vm->nmi_unblocks++;
	this_cpu()->nmis++;
	sd_serve();
	if (vm->kick) {
		vm->stop = VM_STOP_KICKED;
		vm->kick = false;
	}
}

/* ---- a step holds the other vCPUs out of the guest ---- */

/* A step's extra rights (step.c) are in the view's EPT, which every vCPU in that view uses: for
 * the one instruction, no other vCPU of the VM may run in its guest, or it would have them too
 * (a write to a write-trapped frame that no trap sees). The stepping vCPU sets hold_by and waits,
 * bounded, until no other vCPU is in its guest (an NMI exit brings out those that are); each
 * vCPU sets its in_guest bit before its VM entry and, seeing a hold, clears it and waits. */
bool smp_hold_others(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	u32 me = vm->vcpu_id, mine = me + 1, zero = 0;
	if (!s)
		return true;
	while (!__atomic_compare_exchange_n(&s->hold_by, &zero, mine, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		zero = 0;
		sd_serve();
		__asm__ volatile("pause");
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (u32 i = 0; i < SMP_MAX_CPUS; i++)
		if (i != me && (s->in_guest & BIT(i)))
			signal_cpu(i);
	u64 t0 = rdtsc(), limit = us_to_tsc(SD_TIMEOUT_US);
	while (s->in_guest & ~BIT(me)) {
		sd_serve();
		if (rdtsc() - t0 > limit) {
			printf("# smp: vCPU %u: vCPUs 0x%x did not leave their guest for a step\n", me, (u32)(s->in_guest & ~BIT(me)));
			s->hold_by = 0;
			return false;
		}
		__asm__ volatile("pause");
	}
	s->stats.step_holds++;
	return true;
}

void smp_release_others(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	if (s && s->hold_by == vm->vcpu_id + 1)
		__atomic_store_n(&s->hold_by, 0, __ATOMIC_SEQ_CST);
}

/* Before each VM entry: false (the vCPU stopped) when it was kicked while a step held it out. */
bool smp_enter_guest(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	u32 me = vm->vcpu_id;
	if (!s)
		return true;
	for (;;) {
		__atomic_or_fetch(&s->in_guest, BIT(me), __ATOMIC_SEQ_CST);
		u32 h = __atomic_load_n(&s->hold_by, __ATOMIC_SEQ_CST);
		if (!h || h == me + 1)
			return true;
		__atomic_and_fetch(&s->in_guest, ~BIT(me), __ATOMIC_SEQ_CST);
		while (s->hold_by) {
			sd_serve();
			if (vm->kick) {
				vm->kick = false;
				vm->stop = VM_STOP_KICKED;
				return false;
			}
			__asm__ volatile("pause");
		}
	}
}

void smp_left_guest(struct vm *vm)
{
	if (vm->smp)
		__atomic_and_fetch(&vm->smp->in_guest, ~BIT(vm->vcpu_id), __ATOMIC_SEQ_CST);
}

/* ---- vCPUs ---- */

struct vm *smp_vcpu(struct vm *vm, u32 id)
{
	struct vm_smp *s = vm->smp;
	return s && id < SMP_MAX_CPUS ? s->vcpu[id] : NULL;
}

static void forward_check(bool ok, const char *text);
static struct vm_smp *check_owner; /* the VM whose vCPUs report HC_CHECKs now (one at a time) */

static void forward_check(bool ok, const char *text)
{
	struct vm_smp *s = check_owner;
	if (!s)
		return;
	spin_lock(&s->check_lock);
	if (s->check)
		s->check(ok, text);
	else if (!ok)
		printf("# guest check failed: %s\n", text);
	spin_unlock(&s->check_lock);
}

/* NMI exiting, and external-interrupt exiting with acknowledge-on-exit, on the current VMCS:
 * the host's NMIs (shootdown, kick) and interrupts reach the hypervisor while this vCPU runs. */
static int enable_ext_intr_exits(struct vm *vm)
{
	const struct vmx_caps *c = &vmx_caps;
	if (!(c->pin.allowed1 & PIN_BASED_EXT_INTR_MASK) || !(c->exit.allowed1 & VM_EXIT_ACK_INTR_ON_EXIT))
		return -1;
	if (!(c->pin.allowed1 & PIN_BASED_NMI_EXITING))
		return -1;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL,
		   vmcs_read(PIN_BASED_VM_EXEC_CONTROL) | PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING);
	vmcs_write(VM_EXIT_CONTROLS, vmcs_read(VM_EXIT_CONTROLS) | VM_EXIT_ACK_INTR_ON_EXIT);
	vm->intr_exits = true; /* vintr.c injects guest IPIs from now on */
	return 0;
}

/* The guest state a started vCPU takes from its starter (read on the starter's CPU). */
static const u32 copied_fields[] = {
	GUEST_CR0, CR0_READ_SHADOW, GUEST_CR3, GUEST_CR4, CR4_READ_SHADOW, GUEST_IA32_EFER, GUEST_IA32_PAT,
	GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
	GUEST_SYSENTER_CS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
};
#define NSEG 8 /* ES CS SS DS FS GS LDTR TR */
struct start_state {
	struct vm *vm;
	u64 f[ARRAY_SIZE(copied_fields)];
	u64 sel[NSEG], base[NSEG], limit[NSEG], ar[NSEG];
};
static struct start_state start_states[SMP_MAX_CPUS];

static void snapshot(struct start_state *st)
{
	for (u32 i = 0; i < ARRAY_SIZE(copied_fields); i++)
		st->f[i] = vmcs_read(copied_fields[i]);
	for (u32 i = 0; i < NSEG; i++) {
		st->sel[i] = vmcs_read(GUEST_ES_SELECTOR + 2 * i);
		st->base[i] = vmcs_read(GUEST_ES_BASE + 2 * i);
		st->limit[i] = vmcs_read(GUEST_ES_LIMIT + 2 * i);
		st->ar[i] = vmcs_read(GUEST_ES_AR_BYTES + 2 * i);
	}
}

static void apply(const struct start_state *st)
{
	for (u32 i = 0; i < ARRAY_SIZE(copied_fields); i++)
		vmcs_write(copied_fields[i], st->f[i]);
	for (u32 i = 0; i < NSEG; i++) {
		vmcs_write(GUEST_ES_SELECTOR + 2 * i, st->sel[i]);
		vmcs_write(GUEST_ES_BASE + 2 * i, st->base[i]);
		vmcs_write(GUEST_ES_LIMIT + 2 * i, st->limit[i]);
		vmcs_write(GUEST_ES_AR_BYTES + 2 * i, st->ar[i]);
	}
}

/* On CPU id: the vCPU's VMCS (this CPU's host state), its entry state, then vm_run until it
 * stops. Cached translations of the views from an earlier run here are dropped first. */
static void vcpu_thread(void *arg)
{
	struct start_state *st = arg;
	struct vm *v = st->vm;
	struct vm_smp *s = v->smp;
	u32 id = v->vcpu_id;
	if (!vmx_is_on())
		vmx_on(); /* this CPU's first vCPU: its own VMXON region (vmxon.c) */
	if (!vmx_is_on() || vmcs_setup(v) || enable_ext_intr_exits(v)) {
		printf("# smp: vCPU %u cannot start on CPU %u (VMX %s)\n", id, cpu_id(), vmx_is_on() ? "on" : "off");
		v->stop = VM_STOP_ENTRY_FAILED;
		s->state[id] = HV_VCPU_STOPPED;
		return;
	}
	vmcs_guest_reset(v, s->start_rip[id], s->start_rsp[id], 0);
	apply(st);
	v->regs[7] = s->start_arg[id]; /* RDI */
	vm_invalidate(v);
	__atomic_or_fetch(&s->running, BIT(id), __ATOMIC_SEQ_CST);
	vm_run(v);
	__atomic_and_fetch(&s->running, ~BIT(id), __ATOMIC_SEQ_CST);
	__vmclear((u64)v->vmcs);
	s->state[id] = HV_VCPU_STOPPED;
}

static struct vm_smp *smp_get(struct vm *vm)
{
	struct vm *boss = vm->smp ? vm->smp->vcpu[0] : vm;
	if (boss->smp)
		return boss->smp;
	struct vm_smp *s = kalloc_pages(ALIGN_UP(sizeof(*s), PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE);
	if (!s)
		return NULL;
	smp_vm_init_once();
	s->vcpu[0] = boss;
	s->state[0] = HV_VCPU_RUNNING;
	s->check_lock = (struct spinlock)SPINLOCK_INIT("check");
	s->check = boss->check;
	if (enable_ext_intr_exits(boss)) { /* the caller is vCPU 0: its VMCS is current */
		kfree_pages(s, ALIGN_UP(sizeof(*s), PAGE_SIZE) / PAGE_SIZE);
		return NULL;
	}
	boss->smp = s;
	boss->check = forward_check;
	check_owner = s;
	__atomic_or_fetch(&s->running, BIT(0), __ATOMIC_SEQ_CST);
	return s;
}

/* A fresh vCPU: vCPU 0's struct vm for what the vCPUs share (RAM, bitmaps, and vm->sh, which
 * points at vCPU 0's views, EPTP list, policy and regions), its own everything else. */
static struct vm *vcpu_alloc(struct vm_smp *s, u32 id)
{
	struct vm *boss = s->vcpu[0], *v = kalloc_pages(ALIGN_UP(sizeof(*v), PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE);
	if (!v)
		return NULL;
	memcpy(v, boss, sizeof(*v));
	v->vmcs = vmx_alloc_region(&vmx_caps);
	if (!v->vmcs) {
		kfree_pages(v, ALIGN_UP(sizeof(*v), PAGE_SIZE) / PAGE_SIZE);
		return NULL;
	}
	spin_lock(&vpid_lock);
	v->vpid = vmx_caps.vpid ? next_smp_vpid++ : 0;
	spin_unlock(&vpid_lock);
	v->vcpu_id = id;
	v->view = 0;
	memset(&v->step, 0, sizeof(v->step));
	v->ve_info = NULL, v->ve_gpa = 0;
	v->ring_next = v->ring_read = 0;
	v->emu = NULL, v->emu_ready = false, v->in_region = 0;
	v->launched = false, v->stop = VM_RUNNING, v->kick = false;
	memset(&v->stats, 0, sizeof(v->stats));
	memset(v->regs, 0, sizeof(v->regs));
	v->timer_on = 0, v->timer_left = 0, v->line_len = 0;
	v->invepts = v->region_entries = v->insn_seq = 0;
	memset((void *)v->virr, 0, sizeof(v->virr));
	v->vt_deadline = v->vt_period = v->vt_lapic = 0;
	v->intr_exits = v->intr_window = false;
	v->vt_fired = v->intr_injected = v->intr_window_exits = v->hlt_waits = v->ipis_sent = 0;
	static const char *const prefixes[] = {"[guest] ", "[guest/1] ", "[guest/2] ", "[guest/3] ", "[guest/4] ",
					       "[guest/5] ", "[guest/6] ", "[guest/7] ", "[guest/8+] "};
	static const char *const ktap_prefixes[] = {"    # [guest] ", "    # [guest/1] ", "    # [guest/2] ",
						    "    # [guest/3] ", "    # [guest/4] ", "    # [guest/5] ",
						    "    # [guest/6] ", "    # [guest/7] ", "    # [guest/8+] "};
	u32 k = id < ARRAY_SIZE(prefixes) ? id : ARRAY_SIZE(prefixes) - 1;
	v->console_prefix = boss->console_prefix ? ktap_prefixes[k] : prefixes[k]; /* in a KTAP test: diagnostics */
	return v;
}

s64 smp_vcpu_start(struct vm *vm, u64 id, u64 rip, u64 rsp, u64 arg)
{
	u64 gpa;
	u32 pf;
	if (id == 0 || id >= smp_ncpus || id >= SMP_MAX_CPUS || smp_cpus[id].state != CPU_ONLINE)
		return -HV_EINVAL;
	if (vm_gva_to_gpa(vm, rip, GW_FETCH, &gpa, &pf) || !vm_gpa(vm, gpa, 1))
		return -HV_EFAULT;
	struct vm_smp *s = smp_get(vm);
	if (!s)
		return -HV_ENOSPC;
	if (s->state[id] == HV_VCPU_RUNNING || s->vcpu[id])
		return -HV_EBUSY; /* started once: a vCPU is not restarted */
	struct vm *v = vcpu_alloc(s, (u32)id);
	if (!v)
		return -HV_ENOSPC;
	v->smp = s;
	v->check = forward_check;
	s->vcpu[id] = v;
	s->start_rip[id] = rip, s->start_rsp[id] = rsp, s->start_arg[id] = arg;
	struct start_state *st = &start_states[id];
	st->vm = v;
	snapshot(st);
	s->state[id] = HV_VCPU_RUNNING;
	if (smp_call((u32)id, vcpu_thread, st)) {
		s->state[id] = HV_VCPU_STOPPED;
		v->stop = VM_STOP_ENTRY_FAILED;
		return -HV_EBUSY;
	}
	return 0;
}

s64 smp_vcpu_status(struct vm *vm, u64 id)
{
	struct vm_smp *s = vm->smp;
	if (id >= smp_ncpus || id >= SMP_MAX_CPUS)
		return -HV_EINVAL;
	if (!s || !s->vcpu[id])
		return id == 0 ? HV_VCPU_RUNNING : HV_VCPU_NONE;
	return s->state[id] | ((u64)s->vcpu[id]->stop << 8);
}

/* Whether a vCPU of vm other than this one is running: its current view is in its own VMCS,
 * which only its CPU can read, and it may switch views by VMFUNC without an exit, so while one
 * runs no view may be destroyed (views.c:view_destroy refuses with -EBUSY). */
bool smp_others_running(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	if (!s)
		return false;
	for (u32 i = 0; i < SMP_MAX_CPUS; i++)
		if (i != vm->vcpu_id && s->state[i] == HV_VCPU_RUNNING)
			return true;
	return false;
}

s64 smp_vcpu_info(struct vm *vm) { return vm->vcpu_id | ((u64)smp_ncpus << 16); }

/* vCPU 0 stopped: kick every other vCPU out of its guest (an IPI makes it exit; it sees
 * vm->kick) and wait, bounded, for each to leave vm_run. */
void smp_vm_stop_all(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	for (u32 i = 1; i < SMP_MAX_CPUS; i++) {
		struct vm *v = s->vcpu[i];
		if (!v || s->state[i] != HV_VCPU_RUNNING)
			continue;
		v->kick = true;
		signal_cpu(i);
		if (smp_call_wait(i, STOP_TIMEOUT_US))
			printf("# smp: vCPU %u on CPU %u did not stop within %u ms\n", i, i, STOP_TIMEOUT_US / 1000);
	}
	__atomic_and_fetch(&s->running, ~BIT(0), __ATOMIC_SEQ_CST);
	s->state[0] = HV_VCPU_STOPPED;
}

static void vcpu_free(struct vm *v)
{
	if (v->emu)
		kfree_pages(v->emu, ALIGN_UP(sizeof(struct emu), PAGE_SIZE) / PAGE_SIZE);
	if (v->vmcs)
		kfree_page(v->vmcs);
	kfree_pages(v, ALIGN_UP(sizeof(*v), PAGE_SIZE) / PAGE_SIZE);
}

/* Before vCPU 0's vm_destroy: the others' VMCS (cleared on their CPU by vcpu_thread), their
 * interpreters and struct vm. A vCPU that never stopped is leaked, not freed under its CPU. */
void smp_vm_destroy(struct vm *vm)
{
	struct vm_smp *s = vm->smp;
	if (!s || vm->vcpu_id != 0)
		return;
	if (s->state[0] == HV_VCPU_RUNNING)
		smp_vm_stop_all(vm);
	for (u32 i = 1; i < SMP_MAX_CPUS; i++)
		if (s->vcpu[i] && (smp_call_wait(i, 0) == 0 || s->state[i] != HV_VCPU_RUNNING))
			vcpu_free(s->vcpu[i]);
	if (check_owner == s)
		check_owner = NULL;
	vm->check = s->check;
	vm->smp = NULL;
	kfree_pages(s, ALIGN_UP(sizeof(*s), PAGE_SIZE) / PAGE_SIZE);
}

/* With other vCPUs: take the VM's lock (true), serving shootdowns while it waits, since the
 * holder may be waiting for this CPU's acknowledgement. Without: nothing to take (false). */
bool smp_vm_lock(struct vm *vm)
{
	if (!vm->smp)
		return false;
	while (!spin_trylock(&vm->sh->lock)) {
		sd_serve();
		__asm__ volatile("pause");
	}
	return true;
}

const struct vm_smp_stats *smp_vm_stats(const struct vm *vm) { return vm->smp ? &vm->smp->stats : NULL; }

/* INVEPTs CPU cpu executed for shootdowns (tests: under Bochs a VM exit alone flushes the
 * guest's translations, so only this count shows the INVEPT itself was done). */
u64 smp_cpu_invepts(u32 cpu) { return cpu < SMP_MAX_CPUS ? boxes[cpu].invepts : 0; }
