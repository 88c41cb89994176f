/* test_vmcs_check.c: the VM-entry checks in software (vmm/vmcs_check.c), rule by rule: a VMCS
 * as hvlab builds it (controls, host state, a 64-bit guest) on a Bochs corei7_skylake_x-like
 * CPU breaks no rule; each change below breaks exactly the rule named first, and nothing the
 * SDM checks before it. Every rule the checker knows has at least one case here. */
#include "unit.h"
#include <string.h>
#include "../../vmm/vmm.h"
#include "../../vmm/vmcs.h"
#include "../../kernel/x86.h"

#define NFIELDS 160
struct vmcs_table {
	int n;
	u64 field[NFIELDS], val[NFIELDS];
	int unknown; /* reads of a field the table does not have */
};

static u64 *slot(struct vmcs_table *t, u64 field)
{
	for (int i = 0; i < t->n; i++)
		if (t->field[i] == field)
			return &t->val[i];
	t->field[t->n] = field;
	t->val[t->n] = 0;
	return &t->val[t->n++];
}

static void set(struct vmcs_table *t, u64 field, u64 v) { *slot(t, field) = v; }
static u64 get(struct vmcs_table *t, u64 field) { return *slot(t, field); }

static u64 table_read(void *ctx, u64 field)
{
	struct vmcs_table *t = ctx;
	for (int i = 0; i < t->n; i++)
		if (t->field[i] == field)
			return t->val[i];
	t->unknown++;
	return 0;
}

/* The capability MSRs of a Bochs corei7_skylake_x (as in test_caps.c) and its fixed bits. */
static struct vmx_caps caps;
static void skylake_caps(void)
{
	struct vmx_caps c;
	skylake_x_msrs(&c);
	c.msr[VMX_MSR_MISC] = 0x000401e0UL; /* 4 CR3 targets, HLT/shutdown/SIPI, no zero-length insn */
	c.msr[VMX_MSR_CR0_FIXED0] = 0x80000021UL;
	c.msr[VMX_MSR_CR0_FIXED1] = 0xffffffffUL;
	c.msr[VMX_MSR_CR4_FIXED0] = 0x2000UL;
	c.msr[VMX_MSR_CR4_FIXED1] = 0x3767ffUL;
	vmx_caps_decode(&c);
	caps = c;
}

/* What vmm/vmcs.c writes (setup_controls, setup_host, vmcs_guest_reset). */
static void valid(struct vmcs_table *t)
{
	memset(t, 0, sizeof(*t));
	set(t, PIN_BASED_VM_EXEC_CONTROL, 0x16);
	set(t, CPU_BASED_VM_EXEC_CONTROL, 0x04006172 | CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
					       CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	set(t, SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_RDTSCP |
						  SECONDARY_EXEC_ENABLE_INVPCID | SECONDARY_EXEC_ENABLE_XSAVES |
						  SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_ENABLE_VMFUNC);
	set(t, VM_EXIT_CONTROLS, 0x36dff | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |
					 VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT);
	set(t, VM_ENTRY_CONTROLS, 0x11ff | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT);
	set(t, VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
	set(t, EPTP_LIST_ADDRESS, 0x14000);
	set(t, EXCEPTION_BITMAP, 0);
	set(t, IO_BITMAP_A, 0x10000);
	set(t, IO_BITMAP_B, 0x11000);
	set(t, MSR_BITMAP, 0x12000);
	set(t, EPT_POINTER, 0x13000 | 6 | (3 << 3));
	set(t, VIRTUAL_PROCESSOR_ID, 1);
	u64 zero[] = {CR3_TARGET_COUNT, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_COUNT,
		      VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN,
		      HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_FS_BASE, HOST_GS_BASE, HOST_IA32_SYSENTER_ESP,
		      HOST_IA32_SYSENTER_EIP, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT, GUEST_IA32_DEBUGCTL,
		      GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
		      GUEST_PENDING_DBG_EXCEPTIONS, GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
		      GUEST_TR_SELECTOR, GUEST_TR_BASE};
	for (unsigned i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		set(t, zero[i], 0);
	set(t, HOST_CR0, 0x80050033);
	set(t, HOST_CR3, 0x3000);
	set(t, HOST_CR4, 0x42020);
	set(t, HOST_CS_SELECTOR, 0x08);
	set(t, HOST_SS_SELECTOR, 0x10);
	set(t, HOST_DS_SELECTOR, 0x10);
	set(t, HOST_ES_SELECTOR, 0x10);
	set(t, HOST_TR_SELECTOR, 0x18);
	set(t, HOST_TR_BASE, 0x105000);
	set(t, HOST_GDTR_BASE, 0x106000);
	set(t, HOST_IDTR_BASE, 0x107000);
	set(t, HOST_IA32_EFER, 0xd01);
	set(t, HOST_IA32_PAT, 0x0007040600070406UL);
	set(t, HOST_RIP, 0x101234);
	set(t, GUEST_CR0, 0x80010031);
	set(t, GUEST_CR3, 0x2000);
	set(t, GUEST_CR4, 0x2020);
	set(t, GUEST_DR7, 0x400);
	set(t, GUEST_RSP, 0x80000);
	set(t, GUEST_RIP, 0x200000);
	set(t, GUEST_RFLAGS, 2);
	const u64 segs[] = {GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR,
			    GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
	for (int i = 0; i < 6; i++) {
		u64 n = (segs[i] - GUEST_ES_SELECTOR) / 2;
		set(t, segs[i], i == 0 ? 0x08 : 0x10);
		set(t, GUEST_ES_BASE + 2 * n, 0);
		set(t, GUEST_ES_LIMIT + 2 * n, 0xffffffff);
		set(t, GUEST_ES_AR_BYTES + 2 * n, i == 0 ? 0xa09b : 0xc093);
	}
	set(t, GUEST_LDTR_AR_BYTES, 0x10000);
	set(t, GUEST_TR_LIMIT, 0x67);
	set(t, GUEST_TR_AR_BYTES, 0x8b);
	set(t, GUEST_GDTR_BASE, 0x1000);
	set(t, GUEST_GDTR_LIMIT, 0x17);
	set(t, GUEST_IA32_EFER, MSR_EFER_LME | MSR_EFER_LMA | MSR_EFER_NXE);
	set(t, GUEST_IA32_PAT, 0x0007040600070406UL);
	set(t, VMCS_LINK_POINTER, ~0UL);
}

static const char *check(struct vmcs_table *t, struct vmcs_violation *v)
{
	struct vmcs_check_in in = {.read = table_read, .ctx = t, .caps = &caps, .maxphyaddr = 39};
	return vmcs_check_fields(&in, v) ? v->rule : "none";
}

/* One change, up to three fields, and the rule it must break first. */
struct change {
	const char *rule;
	int n;
	u64 f[5], v[5];
};
#define C1(r, f1, v1) {r, 1, {f1}, {v1}}
#define C2(r, f1, v1, f2, v2) {r, 2, {f1, f2}, {v1, v2}}
#define C3(r, f1, v1, f2, v2, f3, v3) {r, 3, {f1, f2, f3}, {v1, v2, v3}}
/* CPL 3 without breaking a segment rule: conforming CS, SS and its selector at DPL/RPL 3. */
#define RING3(r, f, v) {r, 5, {GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES, GUEST_SS_SELECTOR, GUEST_SS_AR_BYTES, f}, \
			 {0x0b, 0xa09f, 0x13, 0xc0f3, v}}
#define PROC2_BASE (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_ENABLE_VMFUNC)
#define EXIT_BASE (0x36dffUL | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER)
#define ENTRY_BASE (0x11ffUL | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER)
#define PROC_BASE (0x04006172UL | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
static const struct change changes[] = {
	C1("ctl.pin", PIN_BASED_VM_EXEC_CONTROL, 0),
	C1("ctl.proc", CPU_BASED_VM_EXEC_CONTROL, PROC_BASE | BIT(0)),
	C1("ctl.proc2", SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | BIT(30)),
	C1("ctl.cr3_target_count", CR3_TARGET_COUNT, 1000),
	C1("ctl.io_bitmaps", IO_BITMAP_B, 0x11800),
	C1("ctl.msr_bitmap", MSR_BITMAP, 1UL << 45),
	C1("ctl.virtual_nmis", PIN_BASED_VM_EXEC_CONTROL, 0x16 | PIN_BASED_VIRTUAL_NMIS),
	C1("ctl.nmi_window", CPU_BASED_VM_EXEC_CONTROL, PROC_BASE | CPU_BASED_NMI_WINDOW_EXITING),
	C1("ctl.vpid", VIRTUAL_PROCESSOR_ID, 0),
	C1("ctl.eptp_memtype", EPT_POINTER, 0x13000 | 5 | (3 << 3)),
	C1("ctl.eptp_walk", EPT_POINTER, 0x13000 | 6 | (2 << 3)),
	C1("ctl.eptp_reserved", EPT_POINTER, 0x13000 | 6 | (3 << 3) | BIT(8)),
	C1("ctl.eptp_reserved", EPT_POINTER, (1UL << 40) | 6 | (3 << 3)),
	C1("ctl.unrestricted_guest", SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_ENABLE_VPID),
	C1("ctl.vmfunc", VM_FUNCTION_CONTROL, 3),
	C1("ctl.eptp_switching_ept", SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC | SECONDARY_EXEC_ENABLE_VPID),
	C1("ctl.eptp_list", EPTP_LIST_ADDRESS, 0x14010),
	C2("ctl.ve_info", SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | SECONDARY_EXEC_EPT_VIOLATION_VE,
	   VE_INFORMATION_ADDRESS, 0x15001),
	C1("ctl.exit", VM_EXIT_CONTROLS, 0),
	C1("ctl.exit_save_timer", VM_EXIT_CONTROLS, EXIT_BASE | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER),
	C2("ctl.exit_msr_areas", VM_EXIT_MSR_STORE_COUNT, 1, VM_EXIT_MSR_STORE_ADDR, 0x16008),
	C2("ctl.exit_msr_areas", VM_EXIT_MSR_LOAD_COUNT, 1, VM_EXIT_MSR_LOAD_ADDR, 1UL << 39),
	C1("ctl.entry", VM_ENTRY_CONTROLS, 0),
	C1("ctl.entry_intr_type", VM_ENTRY_INTR_INFO_FIELD, 0x80000100),
	C1("ctl.entry_intr_vector", VM_ENTRY_INTR_INFO_FIELD, 0x80000203),
	C1("ctl.entry_intr_vector", VM_ENTRY_INTR_INFO_FIELD, 0x80000320),
	C1("ctl.entry_intr_error_code", VM_ENTRY_INTR_INFO_FIELD, 0x8000030d),        /* #GP without its code */
	C1("ctl.entry_intr_error_code", VM_ENTRY_INTR_INFO_FIELD, 0x80000b06),        /* #UD with one */
	C1("ctl.entry_intr_reserved", VM_ENTRY_INTR_INFO_FIELD, 0x80001306),
	C2("ctl.entry_intr_reserved", VM_ENTRY_INTR_INFO_FIELD, 0x80000b0e, VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000),
	C1("ctl.entry_insn_len", VM_ENTRY_INTR_INFO_FIELD, 0x80000403),
	C2("ctl.entry_insn_len", VM_ENTRY_INTR_INFO_FIELD, 0x80000603, VM_ENTRY_INSTRUCTION_LEN, 16),
	C2("ctl.entry_msr_area", VM_ENTRY_MSR_LOAD_COUNT, 2, VM_ENTRY_MSR_LOAD_ADDR, 0x17004),
	C1("ctl.entry_smm", VM_ENTRY_CONTROLS, ENTRY_BASE | VM_ENTRY_SMM),
	C1("host.cr0", HOST_CR0, 0x80050032),
	C1("host.cr4", HOST_CR4, 0x40020),
	C1("host.cr3", HOST_CR3, 1UL << 45),
	C1("host.sysenter", HOST_IA32_SYSENTER_EIP, 0x800000000000UL),
	C1("host.pat", HOST_IA32_PAT, 0x0007040600070402UL),
	C1("host.efer", HOST_IA32_EFER, 0xc01), /* LME clear */
	C1("host.efer", HOST_IA32_EFER, 0xd01 | BIT(3)),
	C1("host.selectors", HOST_DS_SELECTOR, 0x13),
	C1("host.selectors", HOST_TR_SELECTOR, 0),
	C1("host.bases", HOST_GS_BASE, 0x800000000000UL),
	C1("host.address_space_size", VM_EXIT_CONTROLS, 0x36dffUL), /* nor an EFER load, whose LMA comes first */
	C1("host.pae_rip", HOST_RIP, 0x800000000000UL),
	C1("host.pae_rip", HOST_CR4, 0x42000),
	C1("guest.cr0", GUEST_CR0, 0x80010011), /* NE clear */
	C2("guest.cr0_pg_pe", SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | SECONDARY_EXEC_UNRESTRICTED_GUEST,
	   GUEST_CR0, 0x80010030),
	C1("guest.cr4", GUEST_CR4, 0x20),
	C1("guest.debugctl", GUEST_IA32_DEBUGCTL, BIT(2)),
	C1("guest.ia32e_paging", GUEST_CR4, 0x2000),
	C2("guest.pcide", VM_ENTRY_CONTROLS, 0x11ffUL | VM_ENTRY_LOAD_IA32_EFER, GUEST_CR4, 0x22020),
	C1("guest.cr3", GUEST_CR3, 1UL << 50),
	C1("guest.dr7", GUEST_DR7, 0x100000400UL),
	C1("guest.sysenter", GUEST_SYSENTER_ESP, 0x800000000000UL),
	C1("guest.pat", GUEST_IA32_PAT, 0x0007040600070402UL),
	C1("guest.efer", GUEST_IA32_EFER, MSR_EFER_LMA | MSR_EFER_NXE),      /* LME != LMA with PG */
	C1("guest.efer", GUEST_IA32_EFER, MSR_EFER_LME | MSR_EFER_NXE),      /* LMA != IA-32e mode guest */
	C3("guest.v86_segments", VM_ENTRY_CONTROLS, 0x11ffUL | VM_ENTRY_LOAD_IA32_EFER, GUEST_IA32_EFER, 0,
	   GUEST_RFLAGS, 0x20002),
	C1("guest.tr_ti", GUEST_TR_SELECTOR, 0x4),
	C2("guest.ldtr_ti", GUEST_LDTR_AR_BYTES, 0x82, GUEST_LDTR_SELECTOR, 0x4),
	C1("guest.ss_rpl", GUEST_SS_SELECTOR, 0x13),
	C1("guest.base_canonical", GUEST_FS_BASE, 0x800000000000UL),
	C2("guest.base_canonical", GUEST_LDTR_AR_BYTES, 0x82, GUEST_LDTR_BASE, 0x800000000000UL),
	C1("guest.base_high", GUEST_DS_BASE, 0x100000000UL),
	C1("guest.base_high", GUEST_CS_BASE, 0x100000000UL),
	C1("guest.cs_type", GUEST_CS_AR_BYTES, 0xa093),
	C1("guest.cs_type", GUEST_CS_AR_BYTES, 0),
	C1("guest.ss_type", GUEST_SS_AR_BYTES, 0xc09b),
	C1("guest.data_type", GUEST_DS_AR_BYTES, 0xc092),
	C1("guest.data_type", GUEST_GS_AR_BYTES, 0xc099), /* code, not readable */
	C1("guest.seg_s", GUEST_DS_AR_BYTES, 0xc083),
	C1("guest.cs_dpl", GUEST_CS_AR_BYTES, 0xa0fb),
	C2("guest.ss_dpl", GUEST_CS_AR_BYTES, 0xa09f, GUEST_SS_AR_BYTES, 0xc0f3),
	C1("guest.data_dpl", GUEST_DS_SELECTOR, 0x13),
	C1("guest.seg_p", GUEST_DS_AR_BYTES, 0xc013),
	C1("guest.ar_reserved", GUEST_DS_AR_BYTES, 0xc193),
	C1("guest.ar_reserved", GUEST_CS_AR_BYTES, 0x2a09b),
	C1("guest.cs_db", GUEST_CS_AR_BYTES, 0xe09b),
	C1("guest.limit_g", GUEST_TR_LIMIT, 0xffffffff),
	C1("guest.limit_g", GUEST_SS_LIMIT, 0xfffff000),
	C1("guest.tr_type", GUEST_TR_AR_BYTES, 0x89),
	C1("guest.tr_s", GUEST_TR_AR_BYTES, 0x9b),
	C1("guest.tr_p", GUEST_TR_AR_BYTES, 0x0b),
	C1("guest.tr_unusable", GUEST_TR_AR_BYTES, 0x1008b),
	C1("guest.ldtr_type", GUEST_LDTR_AR_BYTES, 0x83),
	C1("guest.dt_base", GUEST_GDTR_BASE, 0x800000000000UL),
	C1("guest.dt_limit", GUEST_IDTR_LIMIT, 0x10000),
	C1("guest.rip", GUEST_RIP, 0x800000000000UL),
	C1("guest.rflags_reserved", GUEST_RFLAGS, 0),
	C1("guest.rflags_reserved", GUEST_RFLAGS, 0x8002),
	C1("guest.rflags_vm", GUEST_RFLAGS, 0x20002),
	C1("guest.rflags_if", VM_ENTRY_INTR_INFO_FIELD, 0x80000020),
	C1("guest.activity", GUEST_ACTIVITY_STATE, 4),
	RING3("none", GUEST_ACTIVITY_STATE, 0),
	RING3("guest.activity_hlt", GUEST_ACTIVITY_STATE, 1),
	C2("guest.activity_blocking", GUEST_ACTIVITY_STATE, 1, GUEST_INTERRUPTIBILITY_INFO, 2),
	C1("guest.interruptibility", GUEST_INTERRUPTIBILITY_INFO, 0x20),
	C1("guest.interruptibility", GUEST_INTERRUPTIBILITY_INFO, 3),
	C1("guest.interruptibility", GUEST_INTERRUPTIBILITY_INFO, 1), /* STI blocking with IF = 0 */
	C3("guest.interruptibility_event", VM_ENTRY_INTR_INFO_FIELD, 0x80000020, GUEST_RFLAGS, 0x202,
	   GUEST_INTERRUPTIBILITY_INFO, 1),
	C1("guest.pending_dbg", GUEST_PENDING_DBG_EXCEPTIONS, 0x10),
	C2("guest.pending_dbg_bs", GUEST_RFLAGS, 0x302, GUEST_INTERRUPTIBILITY_INFO, 1),
	C1("guest.vmcs_link_pointer", VMCS_LINK_POINTER, 0x1000123),
};

static void one_change(const struct change *c)
{
	struct vmcs_table t;
	struct vmcs_violation v;
	valid(&t);
	for (int i = 0; i < c->n; i++)
		set(&t, c->f[i], c->v[i]);
	const char *got = check(&t, &v);
	if (strcmp(got, c->rule)) {
		unit_fail++;
		fprintf(stderr, "test_vmcs_check.c: change for %s broke %s: %s\n", c->rule, got, v.what);
	} else {
		unit_pass++;
	}
}

/* A stand-in for physical memory: one 4-byte value, readable or not. */
static u32 *phys_val;
static bool *phys_ok;
static void unit_phys32_ctx(u32 *val, bool *ok)
{
	phys_val = val;
	phys_ok = ok;
}
static bool unit_phys32(void *ctx, u64 pa, u32 *val)
{
	(void)ctx;
	(void)pa;
	if (!*phys_ok)
		return false;
	*val = *phys_val;
	return true;
}

void unit_vmcs_check(void)
{
	struct vmcs_table t;
	struct vmcs_violation v;
	skylake_caps();
	valid(&t);
	CHECK(!strcmp(check(&t, &v), "none"));
	CHECK_EQ(t.unknown, 0); /* every field it read is one hvlab writes */
	for (unsigned i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		one_change(&changes[i]);

	/* The example of docs/exercises/03-vmcs.md: the SDM's words and the values. */
	valid(&t);
	set(&t, GUEST_TR_LIMIT, 0xffffffff);
	check(&t, &v);
	CHECK(!strcmp(v.what, "guest TR limit 0xffffffff with G=0 (access rights 0x8b): bits 31:20 of the limit must be 0"));
	CHECK(!strcmp(v.section, "Checks on Guest Segment Registers"));
	CHECK(strstr(v.sdm, "If any bit in the limit field in the range 31:20 is 1, G must be 1") != NULL);

	/* What the stripped exercise 03 leaves: every segment field 0. */
	valid(&t);
	const u64 zeroed[] = {GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES, GUEST_CS_LIMIT, GUEST_SS_SELECTOR,
			      GUEST_SS_AR_BYTES, GUEST_DS_SELECTOR, GUEST_DS_AR_BYTES, GUEST_TR_AR_BYTES, GUEST_TR_LIMIT};
	for (unsigned i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		set(&t, zeroed[i], 0);
	CHECK(!strcmp(check(&t, &v), "guest.cs_type"));
	CHECK(!strcmp(v.what, "guest CS access rights 0x0: Type 0; must be 9, 11, 13 or 15 (accessed code)"));

	/* The link pointer's memory (SDM "Checks on Guest Non-Register State"): the revision
	 * identifier there, bit 31 the "VMCS shadowing" control; unreadable memory is a finding. */
	{
		u32 mem = 0x2b;
		bool readable = true;
		struct vmcs_check_in in = {.read = table_read, .ctx = &t, .caps = &caps, .maxphyaddr = 39};
		valid(&t);
		set(&t, VMCS_LINK_POINTER, 0x5000);
		CHECK(!vmcs_check_fields(&in, &v)); /* no reader: not checked */
		in.read_phys32 = unit_phys32;
		unit_phys32_ctx(&mem, &readable);
		CHECK(!vmcs_check_fields(&in, &v));
		mem = 0x2b | BIT(31); /* a shadow VMCS, but shadowing is off */
		CHECK(vmcs_check_fields(&in, &v) && !strcmp(v.rule, "guest.vmcs_link_pointer"));
		mem = 0;
		CHECK(vmcs_check_fields(&in, &v) && strstr(v.what, "its first 4 bytes are 0x0") != NULL);
		readable = false;
		CHECK(vmcs_check_fields(&in, &v) && strstr(v.what, "cannot read") != NULL);
		set(&t, VMCS_LINK_POINTER, ~0UL); /* all ones: memory never read */
		CHECK(!vmcs_check_fields(&in, &v));
	}

	/* A/D flags in the EPTP: fine where the CPU has them, not elsewhere. */
	valid(&t);
	set(&t, EPT_POINTER, 0x13000 | 6 | (3 << 3) | BIT(6));
	CHECK(!strcmp(check(&t, &v), "none"));
	caps.msr[VMX_MSR_EPT_VPID_CAP] &= ~VMX_EPT_AD_BIT;
	CHECK(!strcmp(check(&t, &v), "ctl.eptp_ad"));
	skylake_caps();

	/* CET CPUs (Bochs tigerlake): EPTP bit 7 is the supervisor shadow-stack control, and with
	 * IA32_VMX_BASIC[56] a hardware exception may be injected with or without an error code,
	 * while an NMI still may not carry one. Both found by guest_boot's CPU-oracle rows. */
	valid(&t);
	set(&t, EPT_POINTER, 0x13000 | 6 | (3 << 3) | BIT(7));
	CHECK(!strcmp(check(&t, &v), "ctl.eptp_reserved"));
	caps.cet_ss = true;
	CHECK(!strcmp(check(&t, &v), "none"));
	valid(&t);
	set(&t, VM_ENTRY_INTR_INFO_FIELD, 0x8000030d); /* #GP without its code */
	CHECK(!strcmp(check(&t, &v), "ctl.entry_intr_error_code"));
	caps.msr[VMX_MSR_BASIC] |= VMX_BASIC_NO_HW_ERROR_CODE_CHECK;
	CHECK(!strcmp(check(&t, &v), "none"));
	set(&t, VM_ENTRY_INTR_INFO_FIELD, 0x80000b06); /* #UD with one */
	CHECK(!strcmp(check(&t, &v), "none"));
	set(&t, VM_ENTRY_INTR_INFO_FIELD, 0x80000a02); /* an NMI with one */
	CHECK(!strcmp(check(&t, &v), "ctl.entry_intr_error_code"));
	skylake_caps();

	/* An unrestricted guest may have a CS of type 3 (data) with DPL 0; others may not. */
	valid(&t);
	set(&t, GUEST_CS_AR_BYTES, 0xa093);
	CHECK(!strcmp(check(&t, &v), "guest.cs_type"));
	set(&t, SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | SECONDARY_EXEC_UNRESTRICTED_GUEST);
	CHECK(!strcmp(check(&t, &v), "none"));
	set(&t, GUEST_CS_AR_BYTES, 0xa0b3);
	CHECK(!strcmp(check(&t, &v), "guest.cs_dpl"));
	CHECK_EQ(get(&t, GUEST_RIP), 0x200000);
}
