/* vmcs_check_guest.c: the guest-state half of vmcs_check.c: SDM "Checks on the Guest State
 * Area" (control registers and MSRs, segment registers, descriptor-table registers, RIP and
 * RFLAGS, non-register state), in the SDM's order, each rule in its words. Not checked: CET
 * state, IA32_PERF_GLOBAL_CTRL, BNDCFGS, RTM, SMM, and the PDPTEs of a 32-bit PAE guest. */
#include "vmm.h"
#include "vmcs.h"
#include "vmcs_check.h"
#include "../kernel/x86.h"

#define S_CR "Checks on Guest Control Registers, Debug Registers, and MSRs"
#define S_SEG "Checks on Guest Segment Registers"
#define S_DT "Checks on Guest Descriptor-Table Registers"
#define S_RIP "Checks on Guest RIP, RFLAGS, and SSP"
#define S_NONREG "Checks on Guest Non-Register State"
#define CR4_PCIDE BIT(17)
#define RFLAGS_VM BIT(17)

static const struct vmcs_rule R_CR0 = {"guest.cr0", S_CR,
	"The CR0 field must not set any bit to a value not supported in VMX operation (IA32_VMX_CR0_FIXED0 and "
	"IA32_VMX_CR0_FIXED1); bits 0 (PE) and 31 (PG) are not checked if the \"unrestricted guest\" VM-execution "
	"control is 1."};
static const struct vmcs_rule R_CR0_PG = {"guest.cr0_pg_pe", S_CR,
	"If bit 31 in the CR0 field (corresponding to PG) is 1, bit 0 in that field (PE) must also be 1."};
static const struct vmcs_rule R_CR4 = {"guest.cr4", S_CR,
	"The CR4 field must not set any bit to a value not supported in VMX operation (IA32_VMX_CR4_FIXED0 and "
	"IA32_VMX_CR4_FIXED1)."};
static const struct vmcs_rule R_DEBUGCTL = {"guest.debugctl", S_CR,
	"If the \"load debug controls\" VM-entry control is 1, bits reserved in the IA32_DEBUGCTL MSR must be 0 in "
	"the field for that register."};
static const struct vmcs_rule R_IA32E = {"guest.ia32e_paging", S_CR,
	"If the \"IA-32e mode guest\" VM-entry control is 1, bit 31 in the CR0 field (corresponding to CR0.PG) and "
	"bit 5 in the CR4 field (corresponding to CR4.PAE) must each be 1."};
static const struct vmcs_rule R_PCIDE = {"guest.pcide", S_CR,
	"If the \"IA-32e mode guest\" VM-entry control is 0, bit 17 in the CR4 field (corresponding to CR4.PCIDE) "
	"must be 0."};
static const struct vmcs_rule R_CR3 = {"guest.cr3", S_CR,
	"The CR3 field must be such that bits 63:52 and bits in the range 51:32 beyond the processor's "
	"physical-address width are 0."};
static const struct vmcs_rule R_DR7 = {"guest.dr7", S_CR,
	"If the \"load debug controls\" VM-entry control is 1, bits 63:32 in the DR7 field must be 0."};
static const struct vmcs_rule R_SYSENTER = {"guest.sysenter", S_CR,
	"The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must each contain a canonical address."};
static const struct vmcs_rule R_PAT = {"guest.pat", S_CR,
	"If the \"load IA32_PAT\" VM-entry control is 1, the value of the field for the IA32_PAT MSR must be one "
	"that could be written by WRMSR without fault at CPL 0: each of the 8 bytes must be 0, 1, 4, 5, 6 or 7."};
static const struct vmcs_rule R_EFER = {"guest.efer", S_CR,
	"If the \"load IA32_EFER\" VM-entry control is 1: bits reserved in the IA32_EFER MSR must be 0; bit 10 "
	"(corresponding to IA32_EFER.LMA) must equal the value of the \"IA-32e mode guest\" VM-entry control; it "
	"must also be identical to bit 8 (LME) if bit 31 in the CR0 field (corresponding to CR0.PG) is 1."};

static int check_crs(struct chk *x)
{
	u64 cr0 = chk_rd(x, GUEST_CR0), cr4 = chk_rd(x, GUEST_CR4), cr3 = chk_rd(x, GUEST_CR3), v;
	bool debug = x->entry & VM_ENTRY_LOAD_DEBUG_CONTROLS;
	if (chk_fixed(x, &R_CR0, "GUEST_CR0", cr0, VMX_MSR_CR0_FIXED0, x->ug ? X86_CR0_PE | X86_CR0_PG : 0))
		return 1;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return chk_fail(x, &R_CR0_PG, "GUEST_CR0 0x%lx: PG without PE", cr0);
	if (chk_fixed(x, &R_CR4, "GUEST_CR4", cr4, VMX_MSR_CR4_FIXED0, 0))
		return 1;
	if (debug && ((v = chk_rd(x, GUEST_IA32_DEBUGCTL)) & ~0xffc3UL))
		return chk_fail(x, &R_DEBUGCTL, "GUEST_IA32_DEBUGCTL 0x%lx: reserved bits 0x%lx", v, v & ~0xffc3UL);
	if (x->ia32e && (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE)))
		return chk_fail(x, &R_IA32E, "IA-32e mode guest with GUEST_CR0 0x%lx (PG=%d), GUEST_CR4 0x%lx (PAE=%d)", cr0,
				!!(cr0 & X86_CR0_PG), cr4, !!(cr4 & X86_CR4_PAE));
	if (!x->ia32e && (cr4 & CR4_PCIDE))
		return chk_fail(x, &R_PCIDE, "GUEST_CR4 0x%lx: PCIDE set, and the guest is not in IA-32e mode", cr4);
	if (chk_beyond_width(x, cr3))
		return chk_fail(x, &R_CR3, "GUEST_CR3 0x%lx: bits beyond the physical-address width", cr3);
	if (debug && ((v = chk_rd(x, GUEST_DR7)) >> 32))
		return chk_fail(x, &R_DR7, "GUEST_DR7 0x%lx: bits 63:32 must be 0", v);
	if (!chk_canonical(v = chk_rd(x, GUEST_SYSENTER_ESP)) || !chk_canonical(v = chk_rd(x, GUEST_SYSENTER_EIP)))
		return chk_fail(x, &R_SYSENTER, "guest IA32_SYSENTER_ESP/EIP 0x%lx is not canonical", v);
	if ((x->entry & VM_ENTRY_LOAD_IA32_PAT) && chk_pat_bad_byte(v = chk_rd(x, GUEST_IA32_PAT)) >= 0)
		return chk_fail(x, &R_PAT, "GUEST_IA32_PAT 0x%lx: byte %d is not a memory type", v, chk_pat_bad_byte(v));
	if (!(x->entry & VM_ENTRY_LOAD_IA32_EFER))
		return 0;
	v = chk_rd(x, GUEST_IA32_EFER);
	if ((v & ~CHK_EFER_KNOWN) || !!(v & MSR_EFER_LMA) != x->ia32e ||
	    ((cr0 & X86_CR0_PG) && !!(v & MSR_EFER_LMA) != !!(v & MSR_EFER_LME)))
		return chk_fail(x, &R_EFER, "GUEST_IA32_EFER 0x%lx (LME=%d LMA=%d) with \"IA-32e mode guest\" %d and CR0.PG "
				"%d", v, !!(v & MSR_EFER_LME), !!(v & MSR_EFER_LMA), x->ia32e, !!(cr0 & X86_CR0_PG));
	return 0;
}

/* The guest's segment registers, in the order of the VMCS fields' names in the SDM's checks. */
enum { CS, SS, DS, ES, FS, GS, TR, LDTR, NSEG };
struct seg {
	const char *name;
	u64 sel_f, base_f, limit_f, ar_f;
	u64 sel, base, limit, ar;
	bool usable;
};
#define SEG(r) {.name = #r, .sel_f = GUEST_##r##_SELECTOR, .base_f = GUEST_##r##_BASE, \
		.limit_f = GUEST_##r##_LIMIT, .ar_f = GUEST_##r##_AR_BYTES}
static const struct seg seg_fields[NSEG] = {SEG(CS), SEG(SS), SEG(DS), SEG(ES), SEG(FS), SEG(GS), SEG(TR), SEG(LDTR)};
#define AR_TYPE(s) ((s)->ar & 0xf)
#define AR_S(s) (((s)->ar >> 4) & 1)
#define AR_DPL(s) (((s)->ar >> 5) & 3)
#define AR_P(s) (((s)->ar >> 7) & 1)
#define AR_L(s) (((s)->ar >> 13) & 1)
#define AR_DB(s) (((s)->ar >> 14) & 1)
#define AR_G(s) (((s)->ar >> 15) & 1)
#define RPL(s) ((s)->sel & 3)

static const struct vmcs_rule R_V86 = {"guest.v86_segments", S_SEG,
	"If the guest will be virtual-8086, the base address of CS, SS, DS, ES, FS and GS must be the selector "
	"field shifted left 4 bits, the limit field must be 0000FFFFH and the access-rights field must be "
	"000000F3H."};
static const struct vmcs_rule R_TR_TI = {"guest.tr_ti", S_SEG, "TR. The TI flag (bit 2) must be 0."};
static const struct vmcs_rule R_LDTR_TI = {"guest.ldtr_ti", S_SEG, "LDTR. If LDTR is usable, the TI flag (bit 2) must be 0."};
static const struct vmcs_rule R_SS_RPL = {"guest.ss_rpl", S_SEG,
	"SS. If the guest will not be virtual-8086 and the \"unrestricted guest\" VM-execution control is 0, the "
	"RPL (bits 1:0) must equal the RPL of the selector field for CS."};
static const struct vmcs_rule R_BASE_CANON = {"guest.base_canonical", S_SEG,
	"Base address. TR, FS, GS: the address must be canonical. LDTR: if LDTR is usable, the address must be "
	"canonical."};
static const struct vmcs_rule R_BASE_HIGH = {"guest.base_high", S_SEG,
	"Base address. CS: bits 63:32 of the address must be zero. SS, DS, ES: if the register is usable, bits "
	"63:32 of the address must be zero."};
static const struct vmcs_rule R_CS_TYPE = {"guest.cs_type", S_SEG,
	"Access rights, bits 3:0 (Type). CS: the values allowed are 9, 11, 13, 15 (accessed code segment); if "
	"\"unrestricted guest\" is 1, also 3 (read/write, accessed, expand-up data segment)."};
static const struct vmcs_rule R_SS_TYPE = {"guest.ss_type", S_SEG,
	"Access rights, bits 3:0 (Type). SS: if SS is usable, the Type must be 3 or 7 (read/write, accessed data "
	"segment)."};
static const struct vmcs_rule R_DATA_TYPE = {"guest.data_type", S_SEG,
	"Access rights, bits 3:0 (Type). DS, ES, FS, GS: if the register is usable, bit 0 of the Type must be 1 "
	"(accessed); if bit 3 of the Type is 1 (code segment), then bit 1 of the Type must be 1 (readable)."};
static const struct vmcs_rule R_S = {"guest.seg_s", S_SEG,
	"Access rights, bit 4 (S). If the register is CS or if the register is usable, S must be 1."};
static const struct vmcs_rule R_CS_DPL = {"guest.cs_dpl", S_SEG,
	"Access rights, bits 6:5 (DPL). CS: if the Type is 3, the DPL must be 0; if the Type is 9 or 11 "
	"(non-conforming code segment), the DPL must equal the DPL in the access-rights field for SS; if the Type "
	"is 13 or 15 (conforming code segment), the DPL cannot be greater than the DPL for SS."};
static const struct vmcs_rule R_SS_DPL = {"guest.ss_dpl", S_SEG,
	"Access rights, bits 6:5 (DPL). SS: if \"unrestricted guest\" is 0, the DPL must equal the RPL from the "
	"selector field. The DPL must be 0 either if the Type for CS is 3 or if bit 0 in the CR0 field (PE) is 0."};
static const struct vmcs_rule R_DATA_DPL = {"guest.data_dpl", S_SEG,
	"Access rights, bits 6:5 (DPL). DS, ES, FS, GS: the DPL cannot be less than the RPL in the selector field "
	"if (1) \"unrestricted guest\" is 0; (2) the register is usable; and (3) the Type is in the range 0-11 "
	"(data segment or non-conforming code segment)."};
static const struct vmcs_rule R_P = {"guest.seg_p", S_SEG,
	"Access rights, bit 7 (P). If the register is CS or if the register is usable, P must be 1."};
static const struct vmcs_rule R_AR_RSVD = {"guest.ar_reserved", S_SEG,
	"Access rights, bits 11:8 and 31:17 (reserved). If the register is CS or if the register is usable, these "
	"bits must all be 0."};
static const struct vmcs_rule R_CS_DB = {"guest.cs_db", S_SEG,
	"Access rights, bit 14 (D/B). For CS, D/B must be 0 if the guest will be in IA-32e mode and the L bit (bit "
	"13) in the access-rights field is 1."};
static const struct vmcs_rule R_LIMIT_G = {"guest.limit_g", S_SEG,
	"Access rights, bit 15 (G), if the register is CS or if the register is usable: If any bit in the limit "
	"field in the range 11:0 is 0, G must be 0. If any bit in the limit field in the range 31:20 is 1, G must "
	"be 1."};
static const struct vmcs_rule R_TR_TYPE = {"guest.tr_type", S_SEG,
	"TR. Bits 3:0 (Type): if the guest will not be IA-32e mode, the Type must be 3 (16-bit busy TSS) or 11 "
	"(32-bit busy TSS); if the guest will be IA-32e mode, the Type must be 11 (64-bit busy TSS)."};
static const struct vmcs_rule R_TR_S = {"guest.tr_s", S_SEG, "TR. Bit 4 (S). S must be 0."};
static const struct vmcs_rule R_TR_P = {"guest.tr_p", S_SEG, "TR. Bit 7 (P). P must be 1."};
static const struct vmcs_rule R_TR_UNUSABLE = {"guest.tr_unusable", S_SEG,
	"TR. Bit 16 (Unusable). The unusable bit must be 0."};
static const struct vmcs_rule R_LDTR = {"guest.ldtr_type", S_SEG,
	"LDTR. If LDTR is usable: bits 3:0 (Type) must be 2 (LDT); bit 4 (S) must be 0; bit 7 (P) must be 1."};

static void read_segs(struct chk *x, struct seg *s)
{
	for (int i = 0; i < NSEG; i++) {
		s[i] = seg_fields[i];
		s[i].sel = chk_rd(x, s[i].sel_f);
		s[i].base = chk_rd(x, s[i].base_f);
		s[i].limit = chk_rd(x, s[i].limit_f);
		s[i].ar = chk_rd(x, s[i].ar_f);
		s[i].usable = !(s[i].ar & BIT(16));
	}
}

static int check_v86(struct chk *x, const struct seg *s)
{
	for (int i = CS; i <= GS; i++)
		if (s[i].base != s[i].sel << 4 || s[i].limit != 0xffff || s[i].ar != 0xf3)
			return chk_fail(x, &R_V86, "virtual-8086 guest: %s selector 0x%lx base 0x%lx limit 0x%lx access rights "
					"0x%lx", s[i].name, s[i].sel, s[i].base, s[i].limit, s[i].ar);
	return 0;
}

static int check_selectors_bases(struct chk *x, const struct seg *s, bool v86)
{
	if (s[TR].sel & 4)
		return chk_fail(x, &R_TR_TI, "guest TR selector 0x%lx: TI (bit 2) is 1", s[TR].sel);
	if (s[LDTR].usable && (s[LDTR].sel & 4))
		return chk_fail(x, &R_LDTR_TI, "guest LDTR selector 0x%lx: TI (bit 2) is 1", s[LDTR].sel);
	if (!v86 && !x->ug && RPL(&s[SS]) != RPL(&s[CS]))
		return chk_fail(x, &R_SS_RPL, "guest SS selector 0x%lx (RPL %lu), CS selector 0x%lx (RPL %lu)", s[SS].sel,
				RPL(&s[SS]), s[CS].sel, RPL(&s[CS]));
	static const int canon[] = {TR, FS, GS, LDTR}, high[] = {CS, SS, DS, ES};
	for (u64 i = 0; i < ARRAY_SIZE(canon); i++) {
		const struct seg *g = &s[canon[i]];
		if ((canon[i] != LDTR || g->usable) && !chk_canonical(g->base))
			return chk_fail(x, &R_BASE_CANON, "guest %s base 0x%lx is not canonical", g->name, g->base);
	}
	for (u64 i = 0; i < ARRAY_SIZE(high); i++) {
		const struct seg *g = &s[high[i]];
		if ((high[i] == CS || g->usable) && (g->base >> 32))
			return chk_fail(x, &R_BASE_HIGH, "guest %s base 0x%lx: bits 63:32 must be 0", g->name, g->base);
	}
	return 0;
}

/* Rules every checked register shares: reserved bits, and the limit against G. */
static int check_rsvd_g(struct chk *x, const struct seg *g)
{
	if (g->ar & 0xfffe0f00UL)
		return chk_fail(x, &R_AR_RSVD, "guest %s access rights 0x%lx: reserved bits 0x%lx are set", g->name, g->ar,
				g->ar & 0xfffe0f00UL);
	if (!AR_G(g) && (g->limit >> 20))
		return chk_fail(x, &R_LIMIT_G, "guest %s limit 0x%lx with G=0 (access rights 0x%lx): bits 31:20 of the "
				"limit must be 0", g->name, g->limit, g->ar);
	if (AR_G(g) && (g->limit & 0xfff) != 0xfff)
		return chk_fail(x, &R_LIMIT_G, "guest %s limit 0x%lx with G=1 (access rights 0x%lx): bits 11:0 of the "
				"limit must be 1", g->name, g->limit, g->ar);
	return 0;
}

/* Types and DPLs of CS, SS, DS, ES, FS, GS, rule by rule in the SDM's order. */
static int check_ar_types(struct chk *x, const struct seg *s)
{
	u64 t = AR_TYPE(&s[CS]);
	if (!(t == 9 || t == 11 || t == 13 || t == 15 || (x->ug && t == 3)))
		return chk_fail(x, &R_CS_TYPE, "guest CS access rights 0x%lx: Type %lu; must be 9, 11, 13 or 15 (accessed "
				"code)%s", s[CS].ar, t, x->ug ? ", or 3" : "");
	if (s[SS].usable && AR_TYPE(&s[SS]) != 3 && AR_TYPE(&s[SS]) != 7)
		return chk_fail(x, &R_SS_TYPE, "guest SS access rights 0x%lx: Type %lu; must be 3 or 7", s[SS].ar,
				AR_TYPE(&s[SS]));
	for (int i = DS; i <= GS; i++) {
		u64 dt = AR_TYPE(&s[i]);
		if (s[i].usable && (!(dt & 1) || ((dt & 8) && !(dt & 2))))
			return chk_fail(x, &R_DATA_TYPE, "guest %s access rights 0x%lx: Type %lu is %s", s[i].name, s[i].ar,
					dt, !(dt & 1) ? "not accessed (bit 0 is 0)" : "code that is not readable");
	}
	return 0;
}

static int check_ar_s_dpl(struct chk *x, const struct seg *s, u64 cr0)
{
	for (int i = CS; i <= GS; i++)
		if ((i == CS || s[i].usable) && !AR_S(&s[i]))
			return chk_fail(x, &R_S, "guest %s access rights 0x%lx: S (bit 4) is 0", s[i].name, s[i].ar);
	u64 t = AR_TYPE(&s[CS]), cs = AR_DPL(&s[CS]), ss = AR_DPL(&s[SS]);
	if ((t == 3 && cs) || ((t == 9 || t == 11) && cs != ss) || ((t == 13 || t == 15) && cs > ss))
		return chk_fail(x, &R_CS_DPL, "guest CS access rights 0x%lx: DPL %lu with Type %lu and SS DPL %lu", s[CS].ar, cs,
				t, ss);
	if ((!x->ug && ss != RPL(&s[SS])) || (ss && (t == 3 || !(cr0 & X86_CR0_PE))))
		return chk_fail(x, &R_SS_DPL, "guest SS access rights 0x%lx: DPL %lu, selector 0x%lx (RPL %lu)", s[SS].ar, ss,
				s[SS].sel, RPL(&s[SS]));
	for (int i = DS; i <= GS; i++)
		if (!x->ug && s[i].usable && AR_TYPE(&s[i]) <= 11 && AR_DPL(&s[i]) < RPL(&s[i]))
			return chk_fail(x, &R_DATA_DPL, "guest %s access rights 0x%lx: DPL %lu is less than the selector's "
					"(0x%lx) RPL %lu", s[i].name, s[i].ar, AR_DPL(&s[i]), s[i].sel, RPL(&s[i]));
	for (int i = CS; i <= GS; i++)
		if ((i == CS || s[i].usable) && !AR_P(&s[i]))
			return chk_fail(x, &R_P, "guest %s access rights 0x%lx: P (bit 7) is 0", s[i].name, s[i].ar);
	return 0;
}

/* Access rights: CS..GS (not for a virtual-8086 guest: check_v86 did), then TR and LDTR. */
static int check_access_rights(struct chk *x, const struct seg *s, bool v86)
{
	if (!v86 && (check_ar_types(x, s) || check_ar_s_dpl(x, s, chk_rd(x, GUEST_CR0))))
		return 1;
	for (int i = CS; i <= GS && !v86; i++)
		if (i == CS || s[i].usable) {
			if (i == CS && x->ia32e && AR_L(&s[CS]) && AR_DB(&s[CS]))
				return chk_fail(x, &R_CS_DB, "guest CS access rights 0x%lx: L=1 and D/B=1 in IA-32e mode", s[CS].ar);
			if (check_rsvd_g(x, &s[i]))
				return 1;
		}
	const struct seg *tr = &s[TR], *ldtr = &s[LDTR];
	if (!(AR_TYPE(tr) == 11 || (!x->ia32e && AR_TYPE(tr) == 3)))
		return chk_fail(x, &R_TR_TYPE, "guest TR access rights 0x%lx: Type %lu; must be 11 (busy TSS)%s", tr->ar,
				AR_TYPE(tr), x->ia32e ? " in IA-32e mode" : " or 3");
	if (AR_S(tr))
		return chk_fail(x, &R_TR_S, "guest TR access rights 0x%lx: S (bit 4) is 1", tr->ar);
	if (!AR_P(tr))
		return chk_fail(x, &R_TR_P, "guest TR access rights 0x%lx: P (bit 7) is 0", tr->ar);
	if (!tr->usable)
		return chk_fail(x, &R_TR_UNUSABLE, "guest TR access rights 0x%lx: unusable (bit 16) is 1", tr->ar);
	if (check_rsvd_g(x, tr))
		return 1;
	if (ldtr->usable && (AR_TYPE(ldtr) != 2 || AR_S(ldtr) || !AR_P(ldtr)))
		return chk_fail(x, &R_LDTR, "guest LDTR access rights 0x%lx: Type %lu, S %lu, P %lu", ldtr->ar, AR_TYPE(ldtr),
				AR_S(ldtr), AR_P(ldtr));
	return ldtr->usable ? check_rsvd_g(x, ldtr) : 0;
}

static const struct vmcs_rule R_DT_BASE = {"guest.dt_base", S_DT,
	"The base-address fields for GDTR and IDTR must contain canonical addresses."};
static const struct vmcs_rule R_DT_LIMIT = {"guest.dt_limit", S_DT, "Bits 31:16 of each limit field must be 0."};
static const struct vmcs_rule R_RIP = {"guest.rip", S_RIP,
	"Bits 63:32 must be 0 if the \"IA-32e mode guest\" VM-entry control is 0 or if the L bit (bit 13) in the "
	"access-rights field for CS is 0. If the processor supports N < 64 linear-address bits, bits 63:N must be "
	"identical if the \"IA-32e mode guest\" VM-entry control is 1 and the L bit in the access-rights field for "
	"CS is 1."};
static const struct vmcs_rule R_RFLAGS = {"guest.rflags_reserved", S_RIP,
	"RFLAGS: reserved bits 63:22, bit 15, bit 5 and bit 3 must be 0 in the field, and reserved bit 1 must be 1."};
static const struct vmcs_rule R_RFLAGS_VM = {"guest.rflags_vm", S_RIP,
	"RFLAGS: the VM flag (bit 17) must be 0 either if the \"IA-32e mode guest\" VM-entry control is 1 or if bit "
	"0 in the CR0 field (corresponding to CR0.PE) is 0."};
static const struct vmcs_rule R_RFLAGS_IF = {"guest.rflags_if", S_RIP,
	"RFLAGS: the IF flag (bit 9) must be 1 if the valid bit (bit 31) in the VM-entry interruption-information "
	"field is 1 and the interruption type (bits 10:8) is external interrupt."};

static int check_dt_rip_rflags(struct chk *x, const struct seg *s)
{
	u64 gb = chk_rd(x, GUEST_GDTR_BASE), ib = chk_rd(x, GUEST_IDTR_BASE), v;
	u64 rip = chk_rd(x, GUEST_RIP), fl = chk_rd(x, GUEST_RFLAGS), info = chk_rd(x, VM_ENTRY_INTR_INFO_FIELD);
	bool long64 = x->ia32e && AR_L(&s[CS]);
	if (!chk_canonical(gb) || !chk_canonical(ib))
		return chk_fail(x, &R_DT_BASE, "guest %s base 0x%lx is not canonical", chk_canonical(gb) ? "IDTR" : "GDTR",
				chk_canonical(gb) ? ib : gb);
	if (((v = chk_rd(x, GUEST_GDTR_LIMIT)) >> 16) || ((v = chk_rd(x, GUEST_IDTR_LIMIT)) >> 16))
		return chk_fail(x, &R_DT_LIMIT, "guest GDTR/IDTR limit 0x%lx: bits 31:16 must be 0", v);
	if (long64 ? !chk_canonical(rip) : rip >> 32)
		return chk_fail(x, &R_RIP, "GUEST_RIP 0x%lx: %s", rip, long64 ? "not canonical in 64-bit mode" :
				"bits 63:32 must be 0 outside 64-bit mode");
	if ((fl & ~0x3f7fd7UL) || !(fl & BIT(1)))
		return chk_fail(x, &R_RFLAGS, "GUEST_RFLAGS 0x%lx: %s", fl, fl & BIT(1) ? "reserved bits set" :
				"reserved bit 1 must be 1");
	if ((fl & RFLAGS_VM) && (x->ia32e || !(chk_rd(x, GUEST_CR0) & X86_CR0_PE)))
		return chk_fail(x, &R_RFLAGS_VM, "GUEST_RFLAGS 0x%lx: VM (bit 17) set in IA-32e mode or with CR0.PE=0", fl);
	if ((info & INTR_INFO_VALID_MASK) && ((info >> 8) & 7) == 0 && !(fl & X86_RFLAGS_IF))
		return chk_fail(x, &R_RFLAGS_IF, "GUEST_RFLAGS 0x%lx: IF=0 while injecting external interrupt 0x%lx", fl, info);
	return 0;
}

static const struct vmcs_rule R_ACTIVITY = {"guest.activity", S_NONREG,
	"Activity state. The activity-state field must contain a value in the range 0-3, indicating an activity "
	"state supported by the implementation (IA32_VMX_MISC bits 8:6)."};
static const struct vmcs_rule R_ACT_HLT = {"guest.activity_hlt", S_NONREG,
	"Activity state. The activity-state field must not indicate the HLT state if the DPL (bits 6:5) in the "
	"access-rights field for SS is not 0."};
static const struct vmcs_rule R_ACT_BLOCK = {"guest.activity_blocking", S_NONREG,
	"Activity state. The activity-state field must indicate the active state if the interruptibility-state "
	"field indicates blocking by either MOV-SS or by STI (if either bit 0 or bit 1 in that field is 1)."};
static const struct vmcs_rule R_INTR_RSVD = {"guest.interruptibility", S_NONREG,
	"Interruptibility state. Reserved bits 31:5 must be 0. The field cannot indicate blocking by both STI and "
	"MOV SS (bits 0 and 1 cannot both be 1). Bit 0 (blocking by STI) must be 0 if the IF flag (bit 9) is 0 in "
	"the RFLAGS field."};
static const struct vmcs_rule R_INTR_EVENT = {"guest.interruptibility_event", S_NONREG,
	"Interruptibility state. Bit 0 (blocking by STI) and bit 1 (blocking by MOV-SS) must both be 0 if the valid "
	"bit (bit 31) in the VM-entry interruption-information field is 1 and the interruption type (bits 10:8) in "
	"that field has value 0, indicating external interrupt; bit 1 must be 0 if the type is 2 (NMI)."};
static const struct vmcs_rule R_PDE_RSVD = {"guest.pending_dbg", S_NONREG,
	"Pending debug exceptions. Bits 11:4, bit 13, bit 15, and bits 63:17 must be 0."};
static const struct vmcs_rule R_PDE_BS = {"guest.pending_dbg_bs", S_NONREG,
	"Pending debug exceptions, if the interruptibility-state field indicates blocking by STI or by MOV SS, or "
	"the activity-state field indicates HLT: bit 14 (BS) must be 1 if the TF flag (bit 8) in the RFLAGS field "
	"is 1 and the BTF flag (bit 1) in the IA32_DEBUGCTL field is 0; bit 14 (BS) must be 0 if the TF flag is 0 "
	"or the BTF flag is 1."};
static const struct vmcs_rule R_LINK = {"guest.vmcs_link_pointer", S_NONREG,
	"VMCS link pointer. If the VMCS link pointer field is not FFFFFFFF_FFFFFFFFH, bits 11:0 must be 0 and bits "
	"beyond the processor's physical-address width must be 0; the 4 bytes located in memory referenced by the "
	"value of the field (as a physical address) must satisfy: bits 30:0 must contain the processor's VMCS "
	"revision identifier, bit 31 must contain the setting of the \"VMCS shadowing\" VM-execution control."};

static int check_nonregister(struct chk *x, const struct seg *s)
{
	u64 act = chk_rd(x, GUEST_ACTIVITY_STATE), intr = chk_rd(x, GUEST_INTERRUPTIBILITY_INFO);
	u64 fl = chk_rd(x, GUEST_RFLAGS), info = chk_rd(x, VM_ENTRY_INTR_INFO_FIELD), itype = (info >> 8) & 7;
	u64 pde = chk_rd(x, GUEST_PENDING_DBG_EXCEPTIONS), link = chk_rd(x, VMCS_LINK_POINTER);
	u64 misc = x->in->caps->msr[VMX_MSR_MISC];
	if (act > 3 || (act && !(misc & BIT(5 + act))))
		return chk_fail(x, &R_ACTIVITY, "GUEST_ACTIVITY_STATE %lu: not supported (IA32_VMX_MISC bits 8:6 = 0x%lx)", act,
				(misc >> 6) & 7);
	if (act == 1 && AR_DPL(&s[SS]))
		return chk_fail(x, &R_ACT_HLT, "GUEST_ACTIVITY_STATE HLT with SS DPL %lu", AR_DPL(&s[SS]));
	if (act && (intr & 3))
		return chk_fail(x, &R_ACT_BLOCK, "GUEST_ACTIVITY_STATE %lu with GUEST_INTERRUPTIBILITY_INFO 0x%lx", act, intr);
	if ((intr >> 5) || (intr & 3) == 3 || ((intr & GUEST_INTR_STATE_STI) && !(fl & X86_RFLAGS_IF)))
		return chk_fail(x, &R_INTR_RSVD, "GUEST_INTERRUPTIBILITY_INFO 0x%lx with GUEST_RFLAGS 0x%lx", intr, fl);
	if ((info & INTR_INFO_VALID_MASK) && ((itype == 0 && (intr & 3)) || (itype == 2 && (intr & 2))))
		return chk_fail(x, &R_INTR_EVENT, "GUEST_INTERRUPTIBILITY_INFO 0x%lx while injecting 0x%lx", intr, info);
	if (pde & ~0x1500fUL)
		return chk_fail(x, &R_PDE_RSVD, "GUEST_PENDING_DBG_EXCEPTIONS 0x%lx: reserved bits 0x%lx", pde,
				pde & ~0x1500fUL);
	if ((intr & 3) || act == 1) {
		bool btf = (x->entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) && (chk_rd(x, GUEST_IA32_DEBUGCTL) & 2);
		bool want_bs = (fl & X86_RFLAGS_TF) && !btf;
		if (!!(pde & BIT(14)) != want_bs)
			return chk_fail(x, &R_PDE_BS, "GUEST_PENDING_DBG_EXCEPTIONS 0x%lx: BS must be %d (RFLAGS 0x%lx, "
					"interruptibility 0x%lx, activity %lu)", pde, want_bs, fl, intr, act);
	}
	if (link != ~0UL && ((link & 0xfff) || chk_beyond_width(x, link)))
		return chk_fail(x, &R_LINK, "VMCS_LINK_POINTER 0x%lx: not FFFFFFFF_FFFFFFFFH and not a valid address", link);
	if (link != ~0UL && x->in->read_phys32) {
		u32 hdr, want = (u32)x->in->caps->revision_id | (x->proc2 & SECONDARY_EXEC_SHADOW_VMCS ? BIT(31) : 0);
		if (!x->in->read_phys32(x->in->ctx, link, &hdr))
			return chk_fail(x, &R_LINK, "VMCS_LINK_POINTER 0x%lx: memory the hypervisor cannot read (the CPU "
					"reads its first 4 bytes and wants 0x%x)", link, want);
		if (hdr != want)
			return chk_fail(x, &R_LINK, "VMCS_LINK_POINTER 0x%lx: its first 4 bytes are 0x%x, not the revision "
					"identifier 0x%x with shadowing %d", link, hdr, (u32)x->in->caps->revision_id,
					!!(want & BIT(31)));
	}
	return 0;
}

/* SDM "Checks on the Guest State Area", in its order. */
int chk_guest(struct chk *x)
{
	struct seg s[NSEG];
	if (check_crs(x))
		return 1;
	read_segs(x, s);
	bool v86 = (chk_rd(x, GUEST_RFLAGS) & RFLAGS_VM) && !x->ia32e;
	if (v86 && check_v86(x, s))
		return 1;
	if (check_selectors_bases(x, s, v86) || check_access_rights(x, s, v86))
		return 1;
	return check_dt_rip_rflags(x, s) || check_nonregister(x, s);
}
