/* gwalk.c: translate a guest-linear address through the guest's own 4-level paging structures
 * (SDM "4-Level Paging and 5-Level Paging", "Access Rights", "Page-Fault Exceptions"), checking
 * what the hardware checks: present, U/S against the access's privilege, R/W with CR0.WP, NX
 * with EFER.NXE, SMEP and SMAP; optionally setting accessed/dirty bits as the CPU does. Table
 * memory is reached through a callback, so this runs in host unit tests too. No VMX here. */
#include "vmm.h"
#include "../kernel/x86.h"

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PTE_ADDR 0x000ffffffffff000UL
#define PF_P BIT(0)
#define PF_W BIT(1)
#define PF_U BIT(2)
#define PF_RSVD BIT(3)
#define PF_I BIT(4)

static bool canonical(u64 va) { return (u64)((s64)(va << 16) >> 16) == va; }

/* Is the access allowed by the combined rights of every level? (SDM "Access Rights") */
static bool rights_ok(const struct gwalk_regs *r, u32 access, bool w, bool u, bool nx)
{
	bool user = access & GW_USER, implicit_sv = access & GW_IMPLICIT;
	if (user && !u)
		return false;
	if (access & GW_FETCH)
		return !(nx && (r->efer & MSR_EFER_NXE)) && !(!user && u && (r->cr4 & X86_CR4_SMEP));
	if (!user && u && (r->cr4 & X86_CR4_SMAP) && (implicit_sv || !(r->rflags & X86_RFLAGS_AC)))
		return false;
	if (access & GW_WRITE)
		return w || (!user && !(r->cr0 & X86_CR0_WP));
	return true;
}

/* 0 and *gpa on success; -1 with *pf_error set for a page fault; -2 when a paging structure
 * lies outside guest memory (the callback said NULL). */
int gwalk(const struct gwalk_regs *r, u64 gva, u32 access, u64 *gpa, u32 *pf_error,
	  u64 *(*table)(void *ctx, u64 gpa), void *ctx)
{
	u32 err = (access & GW_WRITE ? PF_W : 0) | (access & GW_USER ? PF_U : 0) |
		  (access & GW_FETCH && (r->efer & MSR_EFER_NXE || r->cr4 & X86_CR4_SMEP) ? PF_I : 0);
	u64 *entries[4];
	bool w = true, u = true, nx = false;
	u64 base = r->cr3 & PTE_ADDR;
	int level;
	if (!canonical(gva)) { /* a #GP, not a #PF: report it as a fault with no P bit */
		*pf_error = err;
		return -1;
	}
	for (level = 4; level >= 1; level--) {
		u64 *e = table(ctx, base + 8 * ((gva >> (12 + 9 * (level - 1))) & 511));
		if (!e)
			return -2;
		entries[4 - level] = e;
		if (!(*e & PTE_P)) {
			*pf_error = err;
			return -1;
		}
		w &= !!(*e & PTE_W), u &= !!(*e & PTE_U), nx |= !!(*e & PTE_NX);
		if (level == 1 || ((level == 2 || level == 3) && (*e & PTE_PS)))
			break;
		if (level == 4 && (*e & PTE_PS)) { /* reserved in a PML4E */
			*pf_error = err | PF_P | PF_RSVD;
			return -1;
		}
		base = *e & PTE_ADDR;
	}
	u64 *leaf = entries[4 - level];
	if (!rights_ok(r, access, w, u, nx)) {
		*pf_error = err | PF_P;
		return -1;
	}
	u64 size = 1UL << (12 + 9 * (level - 1));
	*gpa = (*leaf & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
	if (access & GW_SET_AD) { /* the CPU sets A at every level, D in the leaf on a write */
		for (int i = 0; i <= 4 - level; i++)
			*entries[i] |= PTE_A;
		if (access & GW_WRITE)
			*leaf |= PTE_D;
	}
	return 0;
}
