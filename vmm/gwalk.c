/* gwalk.c: translate a guest-linear address through the guest's own 4-level paging structures
 * (SDM "4-Level Paging and 5-Level Paging", "Access Rights", "Page-Fault Exceptions"), checking
 * what the hardware checks: present, reserved bits (with this CPU's MAXPHYADDR and 1-GByte-page
 * support), U/S against the access's privilege, R/W with CR0.WP, NX with EFER.NXE, SMEP and SMAP;
 * optionally setting accessed/dirty bits as the CPU does. Table memory is reached through a
 * callback, so this runs in host unit tests too. No VMX here; no 5-level paging (CR4.LA57 = 1
 * is refused), no protection keys, no 32-bit or PAE paging. */
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
#define X86_CR4_LA57 BIT(12)
#define PF_P BIT(0)
#define PF_W BIT(1)
#define PF_U BIT(2)
#define PF_RSVD BIT(3)
#define PF_I BIT(4)

static bool canonical(u64 va) { return (u64)((s64)(va << 16) >> 16) == va; }

/* This CPU's MAXPHYADDR (CPUID.80000008H:EAX[7:0], or 36 without that leaf: SDM "Enumeration
 * of Paging Features by CPUID") and 1-GByte-page support (CPUID.80000001H:EDX[26]). The
 * guest's walks are checked against the physical CPU's values (VMX does not change them; the
 * hypervisor passes both leaves through). CPUID once, then the cached values. */
struct gwalk_cpu gwalk_this_cpu(void)
{
	static struct gwalk_cpu cpu;
	u32 a, b, c, d, max;
	if (cpu.maxphyaddr)
		return cpu;
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		cpu.pages_1g = d & BIT(26);
	}
	if (max >= 0x80000008)
		cpuid(0x80000008, 0, &a, &b, &c, &d);
	cpu.maxphyaddr = max >= 0x80000008 ? (u8)a : 36;
	return cpu;
}

/* The bits that must be 0 in a present entry at this level (4 = PML4E .. 1 = PTE): the tables
 * "Format of a PML4 Entry ...", "... Page-Directory-Pointer-Table Entry (PDPTE) that Maps a
 * 1-GByte Page", "... PDE that Maps a 2-MByte Page", etc., summed up under "Reserved Bits" in
 * "Page-Fault Exceptions": bits 51:MAXPHYADDR everywhere; XD (63) without IA32_EFER.NXE; PS in
 * a PML4E; PS in a PDPTE without 1-GByte pages; bits 29:13 of a 1-GByte PDPTE and 20:13 of a
 * 2-MByte PDE (bit 12 is PAT). Bits 62:52 are not reserved: ignored, or in a leaf 62:59 are
 * the protection key (not implemented here). */
static u64 reserved_bits(const struct gwalk_regs *r, int level, u64 e)
{
	u64 rsvd = PTE_ADDR & ~(BIT(r->cpu.maxphyaddr) - 1);
	if (!(r->efer & MSR_EFER_NXE))
		rsvd |= PTE_NX;
	if (level == 4)
		rsvd |= PTE_PS;
	else if (level == 3 && (e & PTE_PS))
		rsvd |= r->cpu.pages_1g ? 0x3fffe000UL : PTE_PS; /* bits 29:13, or PS itself */
	else if (level == 2 && (e & PTE_PS))
		rsvd |= 0x1fe000UL; /* bits 20:13 */
	return rsvd;
}

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

/* 0 and *gpa (and *rights, unless NULL: GWR_*) on success; -1 with *pf_error set for a page fault; -2 when the walk cannot be
 * made: a paging structure lies outside guest memory (the callback said NULL), CR4.LA57 = 1
 * (5-level paging, not implemented: the caller stops the guest rather than walk 4 levels of a
 * 5-level tree), or r->cpu was not filled in (gwalk_this_cpu()). */
int gwalk(const struct gwalk_regs *r, u64 gva, u32 access, u64 *gpa, u32 *pf_error, u32 *rights,
	  u64 *(*table)(void *ctx, u64 gpa), void *ctx)
{
	u32 err = (access & GW_WRITE ? PF_W : 0) | (access & GW_USER ? PF_U : 0) |
		  (access & GW_FETCH && (r->efer & MSR_EFER_NXE || r->cr4 & X86_CR4_SMEP) ? PF_I : 0);
	u64 *entries[4];
	bool w = true, u = true, nx = false;
	u64 base = r->cr3 & PTE_ADDR;
	int level;
	if ((r->cr4 & X86_CR4_LA57) || r->cpu.maxphyaddr < 32 || r->cpu.maxphyaddr > 52)
		return -2;
	if (!canonical(gva)) { /* a #GP, not a #PF: report it as a fault with no P bit */
		*pf_error = err;
		return -1;
	}
	for (level = 4; level >= 1; level--) {
		u64 *e = table(ctx, base + 8 * ((gva >> (12 + 9 * (level - 1))) & 511));
		if (!e)
			return -2;
		entries[4 - level] = e;
		if (!(*e & PTE_P)) { /* the other bits of a not-present entry are not checked */
			*pf_error = err;
			return -1;
		}
		if (*e & reserved_bits(r, level, *e)) { /* before the rights: they are never reached */
			*pf_error = err | PF_P | PF_RSVD;
			return -1;
		}
		w &= !!(*e & PTE_W), u &= !!(*e & PTE_U), nx |= !!(*e & PTE_NX);
		if (level == 1 || (*e & PTE_PS))
			break;
		base = *e & PTE_ADDR;
	}
	u64 *leaf = entries[4 - level];
	if (!rights_ok(r, access, w, u, nx)) {
		*pf_error = err | PF_P;
		return -1;
	}
	u64 size = 1UL << (12 + 9 * (level - 1));
	*gpa = (*leaf & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
	if (rights) /* what an EPT violation's advanced exit information reports of the translation */
		*rights = (u ? GWR_USER : 0) | (w ? GWR_WRITE : 0) | (nx ? GWR_NX : 0);
	if (access & GW_SET_AD) { /* the CPU sets A at every level, D in the leaf on a write */
		for (int i = 0; i <= 4 - level; i++)
			*entries[i] |= PTE_A;
		if (access & GW_WRITE)
			*leaf |= PTE_D;
	}
	return 0;
}
