/* desc.h: the x86-64 system structures both kernels build, the hypervisor's (kernel/gdt.c,
 * kernel/trap.c) and the guest's (guest/desc.c): the 64-bit TSS and its GDT descriptor,
 * interrupt gates, and loading GDTR (with CS, the data segments and TR) and IDTR.
 * SDM "Task-State Segment (TSS)", "TSS Descriptor in 64-bit mode", "64-Bit Mode IDT". */
#ifndef HVLAB_DESC_H
#define HVLAB_DESC_H
#include "types.h"

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type_attr;
	u16 off_mid;
	u32 off_hi, reserved;
} __attribute__((packed));

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* A present 64-bit interrupt gate (type 14: IF is cleared on entry) to off in segment sel. */
static inline struct idt_gate idt_gate(u64 off, u16 sel, u8 dpl, u8 ist)
{
	return (struct idt_gate){
		.off_lo = off & 0xffff,
		.sel = sel,
		.ist = ist,
		.type_attr = 0x8e | (dpl << 5),
		.off_mid = (off >> 16) & 0xffff,
		.off_hi = off >> 32,
	};
}

/* The 16-byte GDT descriptor (two slots) of an available 64-bit TSS (type 9), present. */
static inline void tss_desc(u64 slot[2], const struct tss64 *tss)
{
	u64 base = (u64)tss, limit = sizeof(*tss) - 1;
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
		  (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

/* LGDT, then CS by a far return, DS/ES/SS, and LTR (TR must name the TSS's descriptor). */
static inline void load_gdt(const u64 *gdt, u16 limit, u16 cs, u16 ds, u16 tr)
{
	struct desc_ptr d = {limit, (u64)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(d), "r"((u64)cs), "r"((u32)ds), "r"((u32)tr)
			 : "rax", "memory");
}

static inline void load_idt(const void *idt, u16 limit)
{
	struct desc_ptr d = {limit, (u64)idt};
	__asm__ volatile("lidt %0" ::"m"(d) : "memory");
}
#endif
