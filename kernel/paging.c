/* paging.c: the hypervisor's own page tables, which replace boot.S's provisional ones. The
 * first 4 GiB stay identity-mapped (2 MiB pages) for everything the hypervisor touches: guest
 * RAM, VMCS regions and EPT tables all come from kalloc there. The 2 MiB pages that hold the
 * kernel image are split into 4 KiB pages so that: the page at 0 is not present (a NULL
 * dereference faults); text is read-only; rodata is read-only and not executable; data, bss
 * and the stacks in them are not executable; and so is every other page. CR0.WP makes the
 * read-only pages read-only at CPL 0 too. Nothing is mapped above 4 GiB; there are no user pages. */
#include "defs.h"
#include "x86.h"

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define KERNEL_PTS 4 /* 4 KiB page tables for the first 8 MiB: kernel/linker.ld checks the image fits */

static u64 pml4[512] __attribute__((aligned(PAGE_SIZE)));
static u64 pdpt[512] __attribute__((aligned(PAGE_SIZE)));
static u64 pd[4 * 512] __attribute__((aligned(PAGE_SIZE)));
static u64 pt[KERNEL_PTS * 512] __attribute__((aligned(PAGE_SIZE)));

/* The rights of the 4 KiB page at pa, nx being PTE_NX or 0 (a CPU without NX: the bit is
 * reserved, SDM "Paging-Structure Entries"). */
static u64 page_rights(u64 pa, u64 nx)
{
	if (pa == 0)
		return 0; /* not present */
	if (pa >= (u64)_kernel_start && pa < (u64)_text_end)
		return PTE_P; /* text: read-only, executable */
	if (pa >= (u64)_text_end && pa < (u64)_rodata_end)
		return PTE_P | nx;
	return PTE_P | PTE_W | nx;
}

void paging_init(void)
{
	/* boot.S set EFER.NXE where CPUID.80000001H:EDX.NX [bit 20] = 1 (SDM "Extended Feature
	 * Enable Register"): with NXE clear, bit 63 of an entry is reserved. */
	u64 nx = (rdmsr(MSR_EFER) & MSR_EFER_NXE) ? PTE_NX : 0;
	u64 kernel_pts = ALIGN_UP((u64)_kernel_end, 2UL << 20) >> 21;
	pml4[0] = (u64)pdpt | PTE_P | PTE_W;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (u64)&pd[i * 512] | PTE_P | PTE_W;
	for (u64 i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS | nx;
	for (u64 t = 0; t < kernel_pts; t++) {
		pd[t] = (u64)&pt[t * 512] | PTE_P | PTE_W; /* the leaves decide */
		for (u64 i = 0; i < 512; i++) {
			u64 pa = (t << 21) + i * PAGE_SIZE;
			pt[t * 512 + i] = pa | page_rights(pa, nx);
		}
	}
	write_cr3((u64)pml4);
	write_cr0(read_cr0() | X86_CR0_WP); /* SDM "Access Rights": supervisor writes obey R/W */
}

bool paging_nx(void) { return rdmsr(MSR_EFER) & MSR_EFER_NXE; }
