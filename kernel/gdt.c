/* gdt.c: the hypervisor's own GDT and TSS. VMX host state needs a non-null TR (SDM "Checks on
 * Host Segment and Descriptor-Table Registers"), so the TSS exists even though we never switch
 * privilege level; IST1 gives double faults a known-good stack. */
#include "defs.h"
#include "desc.h"

static struct tss64 tss;
static u8 ist1_stack[8192] __attribute__((aligned(16)));
static u64 gdt[5] __attribute__((aligned(16)));

void gdt_init(void)
{
	tss.ist[0] = (u64)ist1_stack + sizeof(ist1_stack);
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL; /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffULL; /* 0x10: data, DPL 0 */
	tss_desc(&gdt[TSS_SEL / 8], &tss); /* 0x18: the TSS (two slots) */
	load_gdt(gdt, sizeof(gdt) - 1, KERNEL_CS, KERNEL_DS, TSS_SEL);
}

u64 gdt_base(void) { return (u64)gdt; }
u64 tss_base(void) { return (u64)&tss; }
