/* smp.c: the hypervisor's CPUs. smp_init finds them (acpi.c: the MADT, or the MP table), keeps
 * at most "cpus=N" of them, masks the legacy PIC, and starts each AP with INIT-SIPI-SIPI into
 * the real-mode trampoline (irq_entry.S) copied below 1 MiB (SDM "MP Initialization Protocol
 * Algorithm for MP Systems"; the BIOS left them in HLT, only INIT wakes them). A CPU that does
 * not come up within a bounded time is reported and left out. Each CPU has its own stack, GDT,
 * TSS and IA32_GS_BASE (this_cpu); an AP waits in HLT for a function to run (smp_call). */
#include "defs.h"
#include "x86.h"

#define SMP_TRAMPOLINE 0x8000
#define START_TIMEOUT_US 200000

struct cpu smp_cpus[SMP_MAX_CPUS];
u32 smp_ncpus = 1, smp_nfound = 1;
const char *smp_source = "none";
void (*smp_wait_hook)(void); /* vmm/: serve its requests (shootdowns) while this CPU waits */

extern const u8 ap_tramp_start[], ap_tramp_end[];
u64 ap_boot_stack, ap_boot_cr3;
static struct cpu *volatile ap_boot_cpu;
static u64 ap_boot_cr0, ap_boot_cr4;
static irq_fn irq_handlers[256];

u64 us_to_tsc(u64 us) { return tsc_hz() / 1000 * us / 1000; }

static void delay_us(u64 us)
{
	u64 t0 = rdtsc(), n = us_to_tsc(us);
	while (rdtsc() - t0 < n)
		__asm__ volatile("pause");
}

struct cpu *this_cpu(void)
{
	struct cpu *c = (struct cpu *)rdmsr(MSR_GS_BASE);
	return c ? c : &smp_cpus[0]; /* before smp_init: the BSP */
}

u32 cpu_id(void) { return this_cpu()->index; }

void irq_register(u32 vector, irq_fn fn) { irq_handlers[vector & 0xff] = fn; }

/* Vectors 32-255 while this CPU's interrupts are enabled (its idle waits). */
void irq_dispatch(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	u32 v = (u32)f->vector;
	c->irqs++;
	if (v == IRQ_VEC_TIMER)
		c->timer_ticks++;
	if (irq_handlers[v])
		irq_handlers[v](v);
	if (v != IRQ_VEC_SPURIOUS) /* SDM "Spurious Interrupt": no EOI for it */
		lapic_eoi();
}

void (*smp_nmi_work)(void); /* vmm/: what an NMI IPI asks of this CPU (a shootdown, a kick) */

static bool nmi_count(struct trap_frame *f)
{
	(void)f;
	this_cpu()->nmis++;
	if (smp_nmi_work)
		smp_nmi_work();
	return true;
}

static void call_kick(u32 v)
{
	(void)v;
	this_cpu()->call_ipis++;
}

static void cpu_common_init(struct cpu *c)
{
	wrmsr(MSR_GS_BASE, (u64)c);
	c->self = c;
	lapic_init_cpu();
	c->apic_id = lapic_id();
}

/* An AP, from irq_entry.S's ap_entry64 on its own stack with the kernel's page tables. */
void ap_main(void)
{
	struct cpu *c = ap_boot_cpu;
	write_cr0(ap_boot_cr0);
	write_cr4(ap_boot_cr4);
	gdt_init_cpu(c->index);
	trap_load();
	cpu_common_init(c);
	c->state = CPU_ONLINE;
	smp_ap_idle();
}

/* The AP's life after start: run posted calls; HLT with interrupts on in between (STI's
 * one-instruction shadow makes "sti; hlt" atomic: a kick that arrives after the check wakes
 * the HLT). Interrupts are off while a call runs. */
void smp_ap_idle(void)
{
	struct cpu *c = this_cpu();
	for (;;) {
		__asm__ volatile("cli" ::: "memory");
		if (c->call_seq != c->call_done) {
			c->call_fn(c->call_arg);
			__asm__ volatile("" ::: "memory");
			c->call_done = c->call_seq;
			continue;
		}
		if (smp_wait_hook)
			smp_wait_hook();
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}

int smp_call(u32 cpu, void (*fn)(void *), void *arg)
{
	struct cpu *c = &smp_cpus[cpu];
	if (cpu == 0 || cpu >= SMP_MAX_CPUS || c->state != CPU_ONLINE || c->call_seq != c->call_done)
		return -1;
	c->call_fn = fn;
	c->call_arg = arg;
	__asm__ volatile("" ::: "memory");
	c->call_seq++;
	lapic_send_ipi(c->apic_id, IRQ_VEC_CALL);
	return 0;
}

int smp_call_wait(u32 cpu, u64 timeout_us)
{
	struct cpu *c = &smp_cpus[cpu];
	u64 t0 = rdtsc(), n = us_to_tsc(timeout_us);
	while (c->call_seq != c->call_done) {
		if (rdtsc() - t0 > n)
			return -1;
		if (smp_wait_hook)
			smp_wait_hook();
		__asm__ volatile("pause");
	}
	return 0;
}

/* INIT, 10 ms, SIPI, 200 us, a second SIPI if it has not answered; then a bounded wait. */
int smp_start_ap(u32 apic_id, struct cpu *c, u64 timeout_us)
{
	if (!c->stack && !(c->stack = kalloc_pages(SMP_STACK_SIZE / PAGE_SIZE, PAGE_SIZE)))
		return -1;
	ap_boot_stack = (u64)c->stack + SMP_STACK_SIZE;
	ap_boot_cr3 = read_cr3();
	ap_boot_cpu = c;
	c->state = CPU_STARTING;
	lapic_send_init(apic_id);
	delay_us(10000);
	lapic_send_sipi(apic_id, SMP_TRAMPOLINE >> 12);
	delay_us(200);
	if (c->state != CPU_ONLINE)
		lapic_send_sipi(apic_id, SMP_TRAMPOLINE >> 12);
	u64 t0 = rdtsc(), n = us_to_tsc(timeout_us);
	while (c->state != CPU_ONLINE && rdtsc() - t0 < n)
		__asm__ volatile("pause");
	if (c->state == CPU_ONLINE)
		return 0;
	c->state = CPU_FAILED;
	return -1;
}

static u32 cpus_limit(const char *cmdline)
{
	char v[16];
	if (cmdline_get(cmdline, "cpus", v, sizeof(v)) <= 0 || v[0] < '0' || v[0] > '9')
		return SMP_MAX_CPUS;
	u64 n = strtou64(v, NULL, 10);
	return n == 0 ? 1 : n > SMP_MAX_CPUS ? SMP_MAX_CPUS : (u32)n;
}

void smp_init(const char *cmdline)
{
	struct smp_enum e;
	struct cpu *bsp = &smp_cpus[0];
	outb(0x21, 0xff); /* the 8259 PICs: every IRQ masked (the hypervisor uses the LAPIC only) */
	outb(0xa1, 0xff);
	cpu_common_init(bsp);
	bsp->state = CPU_ONLINE;
	irq_register(IRQ_VEC_CALL, call_kick);
	nmi_hook = nmi_count;
	char how[8];
	bool mp_only = cmdline_get(cmdline, "smp", how, sizeof(how)) >= 0 && !strcmp(how, "mp");
	if ((mp_only || acpi_madt_cpus(&e)) && mp_table_cpus(&e))
		return; /* no table: one CPU, as before */
	smp_source = e.source;
	smp_nfound = e.n;
	u32 limit = cpus_limit(cmdline);
	if (e.n <= 1)
		return;
	memcpy((void *)SMP_TRAMPOLINE, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	ap_boot_cr0 = read_cr0();
	ap_boot_cr4 = read_cr4();
	for (u32 i = 0, next = 1; i < e.n; i++) {
		if (e.apic_id[i] == bsp->apic_id)
			continue;
		struct cpu *c = &smp_cpus[next];
		c->index = next++;
		c->apic_id = e.apic_id[i];
		if (c->index >= limit) {
			c->state = CPU_UNUSED;
			continue;
		}
		if (smp_start_ap(e.apic_id[i], c, START_TIMEOUT_US) == 0)
			smp_ncpus++;
		else
			printf("hvlab: CPU %u (APIC ID %u) did not start within %u ms; going on without it\n",
			       c->index, c->apic_id, START_TIMEOUT_US / 1000);
	}
	printf("hvlab: %u CPUs online (%u in the %s, cpus=%u), %s\n", smp_ncpus, e.n, e.source,
	       limit == SMP_MAX_CPUS ? e.n : limit, lapic_x2apic() ? "x2APIC" : "xAPIC");
}
