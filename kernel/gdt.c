/* gdt.c: the hypervisor's own GDT and TSS. VMX host state needs a non-null TR (SDM "Checks on
 * Host Segment and Descriptor-Table Registers"), so the TSS exists even though we never switch
 * privilege level; IST1 gives double faults a known-good stack. */
#include "defs.h"

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

static struct tss tss;
static u8 ist1_stack[8192] __attribute__((aligned(16)));
static u64 gdt[5] __attribute__((aligned(16)));

static void load_gdt(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) desc = {sizeof(gdt) - 1, (u64)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t" /* far return reloads CS */
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(desc), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(TSS_SEL)
			 : "rax", "memory");
}

void gdt_init(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;
	tss.ist[0] = (u64)ist1_stack + sizeof(ist1_stack);
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL; /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffULL; /* 0x10: data, DPL 0 */
	/* 0x18: 64-bit available TSS (type 9), present; 16 bytes (two slots). */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;
	load_gdt();
}

u64 gdt_base(void) { return (u64)gdt; }
u64 tss_base(void) { return (u64)&tss; }
