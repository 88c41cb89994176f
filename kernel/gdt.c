/* gdt.c: the hypervisor's own GDT and TSS. VMX host state needs a non-null TR (SDM "Checks on
 * Host Segment and Descriptor-Table Registers"), so the TSS exists even though we never switch
 * privilege level; IST1 gives double faults a known-good stack. */
#include "defs.h"
#include "desc.h"

/* One of each per CPU: LTR marks the TSS descriptor busy, so CPUs cannot share one (SMP). */
static struct tss64 tss[SMP_MAX_CPUS];
static u8 ist1_stack[SMP_MAX_CPUS][8192] __attribute__((aligned(16)));
static u64 gdt[SMP_MAX_CPUS][5] __attribute__((aligned(16)));

void gdt_init_cpu(u32 cpu)
{
	tss[cpu].ist[0] = (u64)ist1_stack[cpu] + sizeof(ist1_stack[cpu]);
	tss[cpu].iomap_base = sizeof(tss[cpu]); /* no I/O permission bitmap */
	gdt[cpu][0] = 0;
	gdt[cpu][1] = 0x00af9a000000ffffULL; /* 0x08: 64-bit code, DPL 0 */
	gdt[cpu][2] = 0x00cf92000000ffffULL; /* 0x10: data, DPL 0 */
	tss_desc(&gdt[cpu][TSS_SEL / 8], &tss[cpu]); /* 0x18: the TSS (two slots) */
	load_gdt(gdt[cpu], sizeof(gdt[cpu]) - 1, KERNEL_CS, KERNEL_DS, TSS_SEL);
}

void gdt_init(void) { gdt_init_cpu(0); }

u64 gdt_base(void) { return (u64)gdt[cpu_id()]; }
u64 tss_base(void) { return (u64)&tss[cpu_id()]; }
