/* test_smp.c: suites "smp" (the CPUs from the firmware tables, started and answering IPIs and
 * NMIs, the LAPIC timer, VMX on each, a VM's vCPUs started on their CPUs with their own views,
 * refused starts) and "shootdown" (an EPT change seen by a vCPU spinning on another CPU; the
 * same with the remote invalidation switched off, which must leave the stale translation in
 * use) and "shootdown_stress" (10,000 changes while the others read). docs/smp.md. Cases that need two CPUs skip on a one-CPU machine. */
#include "suites.h"
#include "../kernel/x86.h"
#include "../vmm/vmcs.h"

#define IPI_TEST_VEC 0xf3

static const char *need_two(void) { return smp_ncpus >= 2 ? NULL : "this machine has one CPU (Bochs: cpu: count=2)"; }

/* Every enabled CPU of the MADT is online, at most cpus=N of them, with distinct APIC IDs. */
static void cpus_enumerated_and_started(void)
{
	char v[16];
	u32 limit = cmdline_get(boot_info.cmdline, "cpus", v, sizeof(v)) > 0 ? (u32)strtou64(v, NULL, 10) : SMP_MAX_CPUS;
	u32 want = smp_nfound < limit ? smp_nfound : (limit ? limit : 1);
	EXPECT_EQ(smp_ncpus, want);
	for (u32 i = 0; i < smp_ncpus; i++) {
		EXPECT_EQ(smp_cpus[i].state, CPU_ONLINE);
		for (u32 j = 0; j < i; j++)
			EXPECT(smp_cpus[i].apic_id != smp_cpus[j].apic_id);
	}
	kt_diag("%u CPUs in the %s, %u online, %s", smp_nfound, smp_source, smp_ncpus,
		lapic_x2apic() ? "x2APIC" : "xAPIC");
}

/* The MP table (the fallback) lists the same CPUs as the MADT. */
static void madt_and_mp_table_agree(void)
{
	struct smp_enum a, b;
	if (acpi_madt_cpus(&a))
		SKIP("no MADT on this machine");
	if (mp_table_cpus(&b))
		SKIP("no MP table on this machine (the MADT lists %u CPUs)", a.n);
	ASSERT_EQ(b.n, a.n);
	for (u32 i = 0; i < a.n; i++)
		EXPECT_EQ(b.apic_id[i], a.apic_id[i]);
	EXPECT_EQ(b.lapic_base, a.lapic_base);
}

static volatile u64 ipi_hits[SMP_MAX_CPUS];
static void ipi_count(u32 v) { (void)v; ipi_hits[cpu_id()]++; }
static void where_am_i(void *out) { ((volatile u64 *)out)[cpu_id()] = lapic_id() | 0x1000; }

/* Each AP runs a call posted to it (on itself: its APIC ID), takes a fixed IPI and an NMI. */
static void ipis_reach_every_cpu(void)
{
	static volatile u64 where[SMP_MAX_CPUS];
	if (need_two())
		SKIP("%s", need_two());
	irq_register(IPI_TEST_VEC, ipi_count);
	for (u32 i = 1; i < smp_ncpus; i++) {
		struct cpu *c = &smp_cpus[i];
		u64 ipis = ipi_hits[i], nmis = c->nmis;
		EXPECT_EQ(smp_call(i, where_am_i, (void *)where), 0);
		EXPECT_EQ(smp_call_wait(i, 100000), 0);
		EXPECT_EQ(where[i], c->apic_id | 0x1000);
		lapic_send_ipi(c->apic_id, IPI_TEST_VEC);
		lapic_send_nmi(c->apic_id);
		u64 t0 = rdtsc();
		while ((ipi_hits[i] == ipis || c->nmis == nmis) && rdtsc() - t0 < us_to_tsc(100000))
			__asm__ volatile("pause");
		EXPECT_EQ(ipi_hits[i], ipis + 1);
		EXPECT_EQ(c->nmis, nmis + 1);
	}
	irq_register(IPI_TEST_VEC, NULL);
}

/* A CPU that never answers the INIT-SIPI-SIPI is reported after a bounded wait. */
static void silent_cpu_reported(void)
{
	static struct cpu ghost;
	u64 t0 = rdtsc();
	memset(&ghost, 0, sizeof(ghost));
	ghost.index = SMP_MAX_CPUS - 1;
	EXPECT_EQ(smp_start_ap(0x40, &ghost, 20000), -1); /* no CPU has APIC ID 40H */
	EXPECT_EQ(ghost.state, CPU_FAILED);
	EXPECT(rdtsc() - t0 < us_to_tsc(1000000));
	if (ghost.stack)
		kfree_pages(ghost.stack, SMP_STACK_SIZE / PAGE_SIZE);
}

/* The LAPIC timer, calibrated against the TSC (PIT-measured): 1 kHz periodic, 10 ticks in
 * about 10 ms, taken through the IDT (vector IRQ_VEC_TIMER) while the BSP waits in HLT. */
static void lapic_timer_ticks(void)
{
	struct cpu *c = this_cpu();
	u64 hz = lapic_timer_hz();
	ASSERT_TRUE(hz > 1000);
	u64 ticks = c->timer_ticks, t0 = rdtsc(), limit = us_to_tsc(200000);
	lapic_timer_start(IRQ_VEC_TIMER, hz / 1000, true);
	while (c->timer_ticks - ticks < 10 && rdtsc() - t0 < limit)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	lapic_timer_stop();
	u64 us = (rdtsc() - t0) * 1000000 / tsc_hz();
	EXPECT(c->timer_ticks - ticks >= 10);
	EXPECT(us >= 5000 && us <= 20000);
	kt_diag("LAPIC timer %lu Hz (divide by 16); 10 ticks of 1 ms took %lu us", hz, us);
}

/* VMXON on every CPU, each with its own VMXON region. */
static void vmx_on_every_cpu(void)
{
	const char *why = vmm_setup();
	if (why)
		SKIP("%s", why);
	EXPECT_EQ(smp_vmx_on_all(), 0);
	EXPECT_EQ(smp_vmx_cpus(), smp_ncpus);
}

/* The guest starts every other vCPU; each runs on its CPU with its own VMCS and VPID. */
static void vcpus_start_on_their_cpus(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_hello", 0);
	EXPECT_EQ(o[0], smp_ncpus);
	EXPECT_EQ(o[1], smp_ncpus - 1);
	for (u32 i = 1; i < smp_ncpus; i++) {
		struct vm *v = smp_vcpu(&vm, i);
		if (!EXPECT(v != NULL))
			continue;
		EXPECT_EQ(v->stop, VM_STOP_EXIT);
		EXPECT(v->vmcs != vm.vmcs);
		EXPECT(!vmx_caps.vpid || (v->vpid && v->vpid != vm.vpid));
		EXPECT(v->stats.by_reason[EXIT_REASON_VMCALL] >= 2);
	}
	vm_destroy(&vm);
}

/* vCPU 1 in view 1 (VMFUNC where the CPU has it) while vCPU 0 stays in view 0. */
static void views_per_vcpu(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_views", vmx_caps.eptp_switching);
	EXPECT_EQ(o[0], 0xaaaa0000aaaa0001UL);
	EXPECT_EQ(o[1], 0xbbbb0000bbbb0002UL);
	EXPECT_EQ(view_current(&vm), 0);
	kt_diag("vCPU 1 switched by %s", vmx_caps.eptp_switching ? "VMFUNC" : "HC_VIEW_SWITCH");
	vm_destroy(&vm);
}

/* One VM for every vCPU (vm->sh): view 1, created by vCPU 0 after vCPU 1 started, is vCPU 1's
 * to switch to, shows vCPU 1 its remap and stops it with its violation (before struct
 * vm_shared, vCPU 1's copy of the VM knew no view 1); a trap vCPU 1 adds counts vCPU 0's write. */
static void changes_after_start_seen_by_every_vcpu(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_shared", 0);
	struct vm *v1 = smp_vcpu(&vm, 1);
	ASSERT_TRUE(v1 != NULL);
	EXPECT_EQ(o[0], 0);                     /* HC_VIEW_SWITCH 1 on vCPU 1 */
	EXPECT_EQ(o[1], 0xbbbb0000bbbb0002UL);  /* view 1's remap, read on vCPU 1 */
	EXPECT_EQ(o[2], 1);                     /* vCPU 1's trap, hit by vCPU 0 */
	EXPECT_EQ(o[3], HV_VCPU_STOPPED | (VM_STOP_EPT_VIOLATION << 8));
	EXPECT_EQ(o[4], 0);
	EXPECT_EQ(v1->stop, VM_STOP_EPT_VIOLATION);
	EXPECT_EQ(v1->view, 1);
	EXPECT(vm.sh == v1->sh);
	EXPECT_EQ(policy_check(&vm, true), 0);
	vm_destroy(&vm);
}

/* A step's extra rights are its vCPU's only: two vCPUs write a write-trapped page 2,000 times
 * each at once and the trap counts all 4,000 writes. Without the hold (smp_hold_others) the
 * other vCPU writes through the granted right, unseen, while a step is open. */
static void step_rights_not_shared(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_trap_step", 2000);
	const struct vm_smp_stats *st = smp_vm_stats(&vm);
	ASSERT_TRUE(st != NULL);
	EXPECT_EQ(o[1], o[0]);
	kt_diag("%llu writes, %llu trap hits, %lu steps held the other vCPU out", o[0], o[1], st->step_holds);
	EXPECT(st->step_holds > 0);
	vm_destroy(&vm);
}

/* Two vCPUs take a #VE each (the CPU's where it has EPT-violation #VE, the hypervisor's
 * otherwise): each on the vCPU that made the access, in its own information page. */
static void ve_per_vcpu_own_page(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_ve", 0);
	struct vm *v1 = smp_vcpu(&vm, 1);
	ASSERT_TRUE(v1 != NULL);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], o[6]);
	EXPECT_EQ(o[2], 1);
	EXPECT_EQ(o[3], o[7]);
	EXPECT_EQ(o[4], o[6]); /* vCPU 0's page names vCPU 0's access */
	EXPECT_EQ(o[5], o[7]);
	EXPECT(v1->ve_gpa && v1->ve_gpa != vm.ve_gpa);
	EXPECT_EQ(v1->stats.soft_ve, vmx_caps.ept_violation_ve ? 0 : 1);
	kt_diag("%s #VE on both vCPUs", vmx_caps.ept_violation_ve ? "hardware" : "software");
	vm_destroy(&vm);
}

static void bad_starts_refused(void)
{
	struct vm vm;
	if (vmm_setup())
		SKIP("%s", vmm_setup());
	if (need_two())
		SKIP("%s", need_two());
	ASSERT_SCENARIO_OK(&vm, "smp_bad", 0);
	vm.quiet = true;
	vm_destroy(&vm);
}

KTAP_SUITE(smp, NULL, smp_vmx_off_all, KTAP_CASE(cpus_enumerated_and_started), KTAP_CASE(madt_and_mp_table_agree),
	   KTAP_CASE(ipis_reach_every_cpu), KTAP_CASE(silent_cpu_reported), KTAP_CASE(lapic_timer_ticks),
	   KTAP_CASE(vmx_on_every_cpu), KTAP_CASE(vcpus_start_on_their_cpus), KTAP_CASE(views_per_vcpu), KTAP_CASE(changes_after_start_seen_by_every_vcpu),
	   KTAP_CASE(step_rights_not_shared),
	   KTAP_CASE(ve_per_vcpu_own_page), KTAP_CASE(bad_starts_refused));

static const char *shootdown_setup(void)
{
	const char *why = vmm_setup();
	if (why)
		return why;
	if (need_two())
		return need_two();
	return smp_vmx_on_all() ? "VMXON failed on some CPU" : NULL;
}

/* One vCPU spins reading a page while vCPU 0 revokes its read right: no read that started
 * after the change call returned succeeds; the reader stops with its EPT violation. */
static void revoke_seen_by_spinning_reader(void)
{
	struct vm vm;
	u64 invepts = smp_cpu_invepts(1);
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_shootdown", 20000);
	struct vm *r = smp_vcpu(&vm, 1);
	const struct vm_smp_stats *st = smp_vm_stats(&vm);
	ASSERT_TRUE(r && st);
	EXPECT_EQ(o[0], 0);                          /* reads through a stale translation */
	EXPECT_EQ(r->stop, VM_STOP_EPT_VIOLATION);
	EXPECT_EQ(o[1], HV_VCPU_STOPPED | (VM_STOP_EPT_VIOLATION << 8));
	EXPECT(st->shootdowns >= 1);
	EXPECT(st->remote_acks >= 1);
	EXPECT_EQ(st->timeouts, 0);
	EXPECT(smp_cpu_invepts(1) > invepts); /* the exit alone flushes under Bochs: the INVEPT itself */
	kt_diag("%lu shootdowns, %lu acknowledged, the last took %lu TSC cycles", st->shootdowns, st->remote_acks,
		st->last_tsc);
	vm_destroy(&vm);
}

/* The test-only switch: the shootdown skips the other CPUs. The reader's CPU keeps its cached
 * translation and reads on: the case above would fail (this is what it guards against). */
static void without_remote_invept_reader_reads_stale(void)
{
	struct vm vm;
	if (prepare_scenario(&vm, "smp_shootdown", 20000))
		return;
	vm.smp_no_remote_invept = true;
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	struct vm *r = smp_vcpu(&vm, 1);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(o[0], 20000);  /* every read after the revocation went through */
	EXPECT_EQ(r->stop, VM_STOP_EXIT);
	EXPECT(smp_vm_stats(&vm)->skipped >= 1);
	kt_diag("without the remote INVEPT: %llu reads after the change, stop: %s", o[0], vm_stop_str(r->stop));
	vm_destroy(&vm);
}

/* A CPU that does not answer (the test-only switch: CPU 1 ignores requests): the initiator's wait
 * ends after its bound, the timeout is reported and counted, the change call returns -ETIMEDOUT
 * to the guest, and the VM still ends as it should. */
static void silent_cpu_times_out(void)
{
	struct vm vm;
	if (prepare_scenario(&vm, "smp_shootdown", BIT(32) | 2000))
		return;
	smp_test_deaf(BIT(1));
	enum vm_stop stop = run_prepared(&vm);
	smp_test_deaf(0);
	EXPECT_EQ(stop, VM_STOP_EXIT);
	const unsigned long long *o = vm_boot_info(&vm)->out;
	const struct vm_smp_stats *st = smp_vm_stats(&vm);
	ASSERT_TRUE(st != NULL);
	EXPECT_EQ((s64)o[3], -HV_ETIMEDOUT);
	EXPECT_EQ(st->timeouts, 1);
	EXPECT_EQ(st->remote_acks, 0);
	kt_diag("the change call returned %lld after the bounded wait; the reader: %s", (long long)o[3],
		vm_stop_str(smp_vcpu(&vm, 1) ? smp_vcpu(&vm, 1)->stop : VM_RUNNING));
	vm_destroy(&vm);
}

/* 10,000 permission changes by vCPU 0 while every other vCPU reads those pages: each change
 * shot down (acknowledged by every reader's CPU), no spurious violation (the readers only read,
 * which every state allows: they all end with their own HC_EXIT), and at the end every view's
 * leaves are what the policy computes. */
static void stress_changes_while_others_read(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_stress", SMP_MAX_CPUS);
	const struct vm_smp_stats *st = smp_vm_stats(&vm);
	ASSERT_TRUE(st != NULL);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[2], smp_ncpus - 1);
	EXPECT_EQ(o[4], smp_ncpus - 1);
	EXPECT(st->shootdowns >= 10000);
	EXPECT(st->remote_acks >= 10000 * (smp_ncpus - 1));
	EXPECT_EQ(st->timeouts, 0);
	EXPECT_EQ(policy_check(&vm, true), 0);
	kt_diag("%u CPUs: 10000 changes with shootdown, %llu TSC cycles each (vCPU 0's view); readers read %llu times",
		smp_ncpus, o[1] / 10000, o[3]);
	vm_destroy(&vm);
}

/* The same changes with no other vCPU: the cost of a change without a shootdown. */
static void stress_baseline_one_vcpu(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "smp_stress", 0);
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(policy_check(&vm, true), 0);
	kt_diag("1 vCPU: 10000 changes, %llu TSC cycles each", o[1] / 10000);
	vm_destroy(&vm);
}

KTAP_SUITE(shootdown, shootdown_setup, smp_vmx_off_all, KTAP_CASE(revoke_seen_by_spinning_reader),
	   KTAP_CASE(without_remote_invept_reader_reads_stale), KTAP_CASE(silent_cpu_times_out));
/* Its own suite: without working shootdowns it runs for minutes (exercise 10 grades "shootdown"). */
KTAP_SUITE(shootdown_stress, shootdown_setup, smp_vmx_off_all, KTAP_CASE(stress_changes_while_others_read),
	   KTAP_CASE(stress_baseline_one_vcpu));
