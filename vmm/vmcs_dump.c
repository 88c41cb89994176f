/* vmcs_dump.c: VMCS fields by name, for whoever debugs the exit path. "vmcs_dump=LIST" on the
 * kernel command line (exit reasons as exit_reason_str() spells them, e.g. CPUID,EPT_VIOLATION,
 * or "all") prints the guest state and the exit information at each such VM exit; a debugger
 * can set the byte vmcs_dump_all to 1 for every exit from then on (docs/setup.md,
 * "Debugging"). vmcs_dump() prints one group of fields from anywhere. Reads only: never a
 * VMWRITE, and a field this CPU does not have is left out rather than reported. */
#include "vmm.h"
#include "vmcs.h"

enum { G_GUEST = 1, G_EXIT = 2, G_CONTROL = 4, G_HOST = 8 };
struct vmcs_field_name {
	const char *name;
	u32 field;
	u8 group;
};
#define F(name, group) {#name, name, group}
static const struct vmcs_field_name fields[] = {
	F(GUEST_RIP, G_GUEST), F(GUEST_RSP, G_GUEST), F(GUEST_RFLAGS, G_GUEST), F(GUEST_CR0, G_GUEST),
	F(GUEST_CR3, G_GUEST), F(GUEST_CR4, G_GUEST), F(GUEST_IA32_EFER, G_GUEST), F(GUEST_DR7, G_GUEST),
	F(GUEST_CS_SELECTOR, G_GUEST), F(GUEST_CS_BASE, G_GUEST), F(GUEST_CS_LIMIT, G_GUEST),
	F(GUEST_CS_AR_BYTES, G_GUEST), F(GUEST_SS_SELECTOR, G_GUEST), F(GUEST_SS_AR_BYTES, G_GUEST),
	F(GUEST_DS_SELECTOR, G_GUEST), F(GUEST_ES_SELECTOR, G_GUEST), F(GUEST_FS_SELECTOR, G_GUEST),
	F(GUEST_FS_BASE, G_GUEST), F(GUEST_GS_SELECTOR, G_GUEST), F(GUEST_GS_BASE, G_GUEST),
	F(GUEST_LDTR_SELECTOR, G_GUEST), F(GUEST_LDTR_AR_BYTES, G_GUEST), F(GUEST_TR_SELECTOR, G_GUEST),
	F(GUEST_TR_BASE, G_GUEST), F(GUEST_TR_LIMIT, G_GUEST), F(GUEST_TR_AR_BYTES, G_GUEST),
	F(GUEST_GDTR_BASE, G_GUEST), F(GUEST_GDTR_LIMIT, G_GUEST), F(GUEST_IDTR_BASE, G_GUEST),
	F(GUEST_IDTR_LIMIT, G_GUEST), F(GUEST_INTERRUPTIBILITY_INFO, G_GUEST), F(GUEST_ACTIVITY_STATE, G_GUEST),
	F(GUEST_PENDING_DBG_EXCEPTIONS, G_GUEST), F(GUEST_IA32_PAT, G_GUEST), F(GUEST_IA32_DEBUGCTL, G_GUEST),
	F(GUEST_SYSENTER_CS, G_GUEST), F(GUEST_SYSENTER_ESP, G_GUEST), F(GUEST_SYSENTER_EIP, G_GUEST),
	F(VMCS_LINK_POINTER, G_GUEST),
	F(VM_EXIT_REASON, G_EXIT), F(EXIT_QUALIFICATION, G_EXIT), F(GUEST_LINEAR_ADDRESS, G_EXIT),
	F(GUEST_PHYSICAL_ADDRESS, G_EXIT), F(VM_EXIT_INTR_INFO, G_EXIT), F(VM_EXIT_INTR_ERROR_CODE, G_EXIT),
	F(IDT_VECTORING_INFO_FIELD, G_EXIT), F(IDT_VECTORING_ERROR_CODE, G_EXIT),
	F(VM_EXIT_INSTRUCTION_LEN, G_EXIT), F(VMX_INSTRUCTION_INFO, G_EXIT), F(VM_INSTRUCTION_ERROR, G_EXIT),
	F(PIN_BASED_VM_EXEC_CONTROL, G_CONTROL), F(CPU_BASED_VM_EXEC_CONTROL, G_CONTROL),
	F(SECONDARY_VM_EXEC_CONTROL, G_CONTROL), F(VM_EXIT_CONTROLS, G_CONTROL), F(VM_ENTRY_CONTROLS, G_CONTROL),
	F(EXCEPTION_BITMAP, G_CONTROL), F(CR0_GUEST_HOST_MASK, G_CONTROL), F(CR0_READ_SHADOW, G_CONTROL),
	F(CR4_GUEST_HOST_MASK, G_CONTROL), F(CR4_READ_SHADOW, G_CONTROL), F(EPT_POINTER, G_CONTROL),
	F(EPTP_INDEX, G_CONTROL), F(EPTP_LIST_ADDRESS, G_CONTROL), F(VM_FUNCTION_CONTROL, G_CONTROL),
	F(VE_INFORMATION_ADDRESS, G_CONTROL), F(VIRTUAL_PROCESSOR_ID, G_CONTROL), F(IO_BITMAP_A, G_CONTROL),
	F(IO_BITMAP_B, G_CONTROL), F(MSR_BITMAP, G_CONTROL), F(CR3_TARGET_COUNT, G_CONTROL),
	F(VM_ENTRY_INTR_INFO_FIELD, G_CONTROL), F(VM_ENTRY_EXCEPTION_ERROR_CODE, G_CONTROL),
	F(VM_ENTRY_INSTRUCTION_LEN, G_CONTROL), F(VMX_PREEMPTION_TIMER_VALUE, G_CONTROL),
	F(HOST_RIP, G_HOST), F(HOST_RSP, G_HOST), F(HOST_CR0, G_HOST), F(HOST_CR3, G_HOST), F(HOST_CR4, G_HOST),
	F(HOST_CS_SELECTOR, G_HOST), F(HOST_TR_SELECTOR, G_HOST), F(HOST_TR_BASE, G_HOST),
	F(HOST_GDTR_BASE, G_HOST), F(HOST_IDTR_BASE, G_HOST), F(HOST_IA32_EFER, G_HOST), F(HOST_IA32_PAT, G_HOST),
};

u8 vmcs_dump_all;              /* a debugger may set it: every exit from then on */
static u8 dump_reason[HV_STATS_REASONS]; /* vmcs_dump=LIST */

static const char *const group_names[] = {"guest", "exit", "controls", "host"};

static bool contains(const char *s, const char *part)
{
	for (size_t n = strlen(part); *s; s++)
		if (!strncmp(s, part, n))
			return true;
	return false;
}

/* Fields whose name contains `match` (a group name, "all", or part of a field name, e.g. "CR"),
 * four to a line, each "NAME=0xVALUE". */
void vmcs_dump(const char *match)
{
	u8 groups = 0;
	for (int g = 0; g < 4; g++)
		if (!strcmp(match, group_names[g]))
			groups = 1 << g;
	if (!strcmp(match, "all"))
		groups = 0xf;
	int n = 0;
	for (u64 i = 0; i < ARRAY_SIZE(fields); i++) {
		u64 v;
		bool want = groups ? (fields[i].group & groups) : contains(fields[i].name, match);
		if (!want || __vmread(fields[i].field, &v) != VMX_OK)
			continue; /* not asked for, or not a field of this CPU */
		printf("%s%s=0x%lx", n % 4 ? " " : "# vmcs: ", fields[i].name, v);
		if (++n % 4 == 0)
			printf("\n");
	}
	if (n % 4)
		printf("\n");
}

/* "vmcs_dump=LIST" from the command line; unknown names are said and ignored. */
void vmcs_dump_setup(const char *cmdline)
{
	char list[256];
	int len = cmdline_get(cmdline, "vmcs_dump", list, sizeof(list));
	if (len < 0)
		return;
	if (len >= (int)sizeof(list)) {
		printf("# vmcs_dump: the list is %d characters long; at most %lu fit\n", len, sizeof(list) - 1);
		return;
	}
	vmcs_dump_all = cmdline_list_has(list, "all");
	for (u32 r = 0; r < HV_STATS_REASONS; r++)
		dump_reason[r] = cmdline_list_has(list, exit_reason_str(r));
}

/* At every VM exit (vcpu_read_exit): the guest state and the exit information, when asked. */
void vmcs_dump_exit(u32 reason)
{
	if (!vmcs_dump_all && (reason >= HV_STATS_REASONS || !dump_reason[reason]))
		return;
	printf("# vmcs: VM exit %u (%s)\n", reason, exit_reason_str(reason));
	vmcs_dump("exit");
	vmcs_dump("guest");
}
