/* scen_mem.c: scenarios about guest memory and ending the run on purpose: ept_identity (RAM
 * is identity-mapped by EPT, then a read beyond RAM), pattern_write/pattern_check (RAM
 * content survives the hypervisor splitting EPT large pages between two runs), triple_fault
 * and vmxoff. Scenarios that end the run print a line first and fail a check if they return. */
#include "guest.h"

#define PATTERN_START (4 * MiB) /* above the guest image (guest.ld asserts it) */
#define PATTERN_STRIDE 64
#define IDENTITY_XOR 0x5a5a5a5a5a5a5a5aUL

/* Cheap, address- and seed-dependent: a page mapped at the wrong GPA reads wrong. */
static u64 pattern(u64 seed, u64 a)
{
	u64 x = (a ^ seed) * 0x9e3779b97f4a7c15UL;
	return x ^ (x >> 29);
}

static u64 ram_end(const struct hv_boot_info *bi)
{
	u64 m = guest_mapped_end();
	return bi->ram_size < m ? bi->ram_size : m;
}

void scen_ept_identity(struct hv_boot_info *bi)
{
	u64 start = ALIGN_UP((u64)_end, PAGE_SIZE), end = ram_end(bi), n = 0, bad = 0;
	for (u64 a = start; a < end; a += PAGE_SIZE)
		*(volatile u64 *)a = a ^ IDENTITY_XOR;
	for (u64 a = start; a < end; a += PAGE_SIZE, n++)
		if (*(volatile u64 *)a != (a ^ IDENTITY_XOR) && bad++ < 4)
			guest_printf("page 0x%lx reads 0x%lx\n", a, *(volatile u64 *)a);
	bi->out[0] = n;
	bi->out[1] = bad;
	guest_printf("ept_identity: %lu pages [0x%lx, 0x%lx) checked, %lu bad\n", n, start, end, bad);
	GEXPECT(n > 0);
	GEXPECT_EQ(bad, 0);
	u64 gpa = bi->arg;
	GEXPECT(gpa >= bi->ram_size);
	if (gpa >= guest_mapped_end())
		guest_map_2m(ALIGN_DOWN(gpa, 2 * MiB));
	guest_printf("ept_identity: reading GPA 0x%lx beyond RAM: expect an EPT violation\n", gpa);
	u64 v = *(volatile u64 *)gpa;
	guest_printf("ept_identity: read 0x%lx without an EPT violation\n", v);
	GX_CHECK(false, "EPT violation on a read beyond RAM");
}

void scen_pattern_write(struct hv_boot_info *bi)
{
	u64 end = ram_end(bi), n = 0;
	if (!GEXPECT(end > PATTERN_START))
		return;
	for (u64 a = PATTERN_START; a < end; a += PATTERN_STRIDE, n++)
		*(volatile u64 *)a = pattern(bi->arg, a);
	bi->out[0] = n;
	guest_printf("pattern_write: seed 0x%llx, %lu words in [0x%lx, 0x%lx)\n", bi->arg, n,
		     PATTERN_START, end);
	GEXPECT_EQ(*(volatile u64 *)PATTERN_START, pattern(bi->arg, PATTERN_START));
	u64 last = end - PATTERN_STRIDE;
	GEXPECT_EQ(*(volatile u64 *)last, pattern(bi->arg, last));
}

void scen_pattern_check(struct hv_boot_info *bi)
{
	u64 end = ram_end(bi), n = 0, bad = 0;
	if (!GEXPECT(end > PATTERN_START))
		return;
	for (u64 a = PATTERN_START; a < end; a += PATTERN_STRIDE, n++) {
		u64 v = *(volatile u64 *)a, want = pattern(bi->arg, a);
		if (v != want && bad++ < 4)
			guest_printf("0x%lx: 0x%lx, expected 0x%lx\n", a, v, want);
	}
	bi->out[0] = bad;
	bi->out[1] = n;
	guest_printf("pattern_check: seed 0x%llx, %lu words, %lu mismatches\n", bi->arg, n, bad);
	GEXPECT_EQ(bad, 0);
}

/* With an IDT limit of 0 every vector is out of bounds: #UD -> #GP -> #DF -> triple fault
 * (SDM "Interrupt 8—Double Fault Exception (#DF)"), a VM exit with basic reason 2. */
void scen_triple_fault(struct hv_boot_info *bi)
{
	(void)bi;
	guest_printf("triple_fault: IDT limit 0, then UD2\n");
	guest_idt_load(0, 0);
	__asm__ volatile("ud2");
	guest_printf("triple_fault: survived UD2\n"); /* no IDT: cannot be reached */
	GX_CHECK(false, "triple fault ends the run");
}

void scen_vmxoff(struct hv_boot_info *bi)
{
	(void)bi;
	guest_printf("vmxoff: HC_VMXOFF with the right magic: the hypervisor leaves VMX\n");
	s64 r = hc1(HC_VMXOFF, HC_VMXOFF_MAGIC);
	guest_printf("vmxoff: HC_VMXOFF returned %ld\n", r);
	GX_CHECK(false, "HC_VMXOFF does not return");
}
