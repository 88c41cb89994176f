/* test_caps.c: capability decoding from raw MSR values, including the values a Bochs
 * corei7_skylake_x reports (shared/notes/bochs-vmx-probe.md), and control-bit adjustment. */
#include "unit.h"
#include <stddef.h>
#include <string.h>
#include "../../vmm/vmm.h"

#define A1(bits) ((u64)(bits) << 32)

/* The raw values a Bochs corei7_skylake_x reports (also test_vmcs_check.c's CPU). */
void skylake_x_msrs(struct vmx_caps *cp)
{
	struct vmx_caps c = {0};
	c.msr[VMX_MSR_BASIC] = 0x00d810000000002bUL;
	c.msr[VMX_MSR_PINBASED] = c.msr[VMX_MSR_TRUE_PINBASED] = 0x0000007f00000016UL;
	c.msr[VMX_MSR_PROCBASED] = 0xfff9fffe0401e172UL;
	c.msr[VMX_MSR_TRUE_PROCBASED] = 0xfff9fffe04006172UL;
	c.msr[VMX_MSR_EXIT] = c.msr[VMX_MSR_TRUE_EXIT] = 0x007fffff00036dffUL;
	c.msr[VMX_MSR_ENTRY] = c.msr[VMX_MSR_TRUE_ENTRY] = 0x0000ffff000011ffUL;
	c.msr[VMX_MSR_PROCBASED2] = 0x02177fff00000000UL;
	c.msr[VMX_MSR_EPT_VPID_CAP] = 0x00000f0106334141UL;
	c.msr[VMX_MSR_VMFUNC] = 1;
	for (int i = 0; i < VMX_NR_MSRS; i++)
		c.has_msr[i] = true;
	*cp = c;
}

static void skylake_x(void)
{
	struct vmx_caps c;
	skylake_x_msrs(&c);
	vmx_caps_decode(&c);
	CHECK_EQ(c.revision_id, 0x2b);
	CHECK_EQ(c.vmcs_size, 4096);
	CHECK(c.true_ctls && c.secondary && c.ept && c.vpid && c.unrestricted_guest);
	CHECK(c.vmfunc && c.eptp_switching && c.ept_violation_ve);
	CHECK(c.ept_execute_only && c.ept_walk4 && c.ept_wb && c.ept_uc && c.ept_2m && c.ept_1g && c.ept_ad);
	CHECK(c.invept && c.invept_single && c.invept_all && c.invvpid && c.invvpid_single);
	CHECK_EQ(c.proc.allowed0, 0x04006172); /* TRUE controls used */
}

static void ivy_bridge_like(void)
{
	struct vmx_caps c = {0};
	c.msr[VMX_MSR_BASIC] = 0x00d810000000002bUL;
	c.msr[VMX_MSR_TRUE_PROCBASED] = 0xfff9fffe04006172UL;
	c.msr[VMX_MSR_PROCBASED2] = 0x000000ff00000000UL; /* no VMFUNC, no #VE */
	c.msr[VMX_MSR_EPT_VPID_CAP] = 0x00000f0106114141UL; /* no 1 GiB pages, no A/D */
	c.msr[VMX_MSR_VMFUNC] = 1;                          /* must be ignored: VMFUNC not allowed */
	vmx_caps_decode(&c);
	CHECK(c.ept && !c.vmfunc && !c.eptp_switching && !c.ept_violation_ve && !c.ept_1g && !c.ept_ad);
}

static void no_secondary(void)
{
	struct vmx_caps c = {0};
	c.msr[VMX_MSR_BASIC] = 0x000810000000000aUL; /* no TRUE controls */
	c.msr[VMX_MSR_PROCBASED] = 0x7ff9fffe0401e172UL; /* bit 31 (secondary) not allowed */
	c.msr[VMX_MSR_PROCBASED2] = ~0UL;                 /* garbage: must be ignored */
	c.msr[VMX_MSR_EPT_VPID_CAP] = ~0UL;
	vmx_caps_decode(&c);
	CHECK(!c.true_ctls && !c.secondary && !c.ept && !c.vpid && !c.invept && !c.ept_1g);
	CHECK_EQ(c.proc.allowed0, 0x0401e172); /* legacy MSR used */
}

static void adjust(void)
{
	u32 refused;
	struct vmx_ctl ctl = vmx_ctl_from_msr(0x000000ff00000011UL);
	CHECK_EQ(vmx_ctl_adjust(ctl, 0x102, &refused), 0x13);
	CHECK_EQ(refused, 0x100);
	CHECK_EQ(vmx_ctl_adjust(ctl, 0, NULL), 0x11);
}

/* vmx_mask=: each name hides its capability and nothing else a test can see. */
static void mask_each(void)
{
	struct vmx_caps ref, c;
	skylake_x_msrs(&ref);
	vmx_caps_decode(&ref);
	CHECK(ref.mtf && ref.preemption_timer && ref.pml && ref.ept_ad);
	struct {
		const char *name;
		size_t off;
	} hides[] = {
		{"ve", offsetof(struct vmx_caps, ept_violation_ve)},
		{"vmfunc", offsetof(struct vmx_caps, vmfunc)},
		{"mtf", offsetof(struct vmx_caps, mtf)},
		{"preemption_timer", offsetof(struct vmx_caps, preemption_timer)},
		{"vpid", offsetof(struct vmx_caps, vpid)},
		{"ept_ad", offsetof(struct vmx_caps, ept_ad)},
		{"pml", offsetof(struct vmx_caps, pml)},
		{"execute_only", offsetof(struct vmx_caps, ept_execute_only)},
		{"unrestricted_guest", offsetof(struct vmx_caps, unrestricted_guest)},
		{"ept", offsetof(struct vmx_caps, ept)},
	};
	for (size_t i = 0; i < sizeof(hides) / sizeof(hides[0]); i++) {
		char err[200] = "";
		skylake_x_msrs(&c);
		vmx_caps_decode(&c);
		CHECK(*(bool *)((char *)&c + hides[i].off));
		CHECK_EQ(vmx_caps_mask(&c, hides[i].name, err, sizeof(err)), 0);
		CHECK(!*(bool *)((char *)&c + hides[i].off));
		CHECK_EQ(c.masked, 1u << i);
		CHECK(!strcmp(vmx_mask_name(i), hides[i].name));
		/* Only the masked bits changed in the raw values; only VMFUNC's MSR can go. */
		for (int m = 0; m < VMX_NR_MSRS; m++) {
			bool gone = m == VMX_MSR_VMFUNC && !strcmp(hides[i].name, "vmfunc");
			CHECK_EQ(c.has_msr[m], !gone);
			CHECK_EQ(c.msr[m], gone ? 0 : ref.msr[m] & ~vmx_caps_masked_bits(c.masked, m));
		}
	}
	CHECK(vmx_mask_name(sizeof(hides) / sizeof(hides[0])) == NULL);
}

static void mask_effects(void)
{
	struct vmx_caps c;
	char err[200] = "";
	skylake_x_msrs(&c);
	vmx_caps_decode(&c);
	CHECK_EQ(vmx_caps_mask(&c, "ve", err, sizeof(err)), 0); /* the nested-KVM profile */
	CHECK(!c.ept_violation_ve && c.vmfunc && c.eptp_switching && c.ept && c.vpid && c.mtf);
	CHECK_EQ(c.proc2.allowed1 & SECONDARY_EXEC_EPT_VIOLATION_VE, 0); /* never set in a VMCS */
	/* vmfunc: IA32_VMX_VMFUNC no longer exists; the TRUE and legacy MSRs both lose MTF. */
	skylake_x_msrs(&c);
	vmx_caps_decode(&c);
	CHECK_EQ(vmx_caps_mask(&c, "vmfunc,mtf,preemption_timer", err, sizeof(err)), 0);
	CHECK(!c.vmfunc && !c.eptp_switching && !c.has_msr[VMX_MSR_VMFUNC] && c.msr[VMX_MSR_VMFUNC] == 0);
	CHECK(!(c.msr[VMX_MSR_PROCBASED] & A1(CPU_BASED_MONITOR_TRAP_FLAG)) && !c.mtf);
	CHECK_EQ(c.exit.allowed1 & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0);
	CHECK(c.ept_violation_ve && c.ept && c.vpid);
	/* ept: its dependants go too; VPID stays, and with it IA32_VMX_EPT_VPID_CAP's VPID half. */
	skylake_x_msrs(&c);
	vmx_caps_decode(&c);
	CHECK_EQ(vmx_caps_mask(&c, "ept", err, sizeof(err)), 0);
	CHECK(!c.ept && !c.unrestricted_guest && !c.ept_violation_ve && !c.pml && !c.invept && !c.ept_1g);
	CHECK(c.vpid && c.invvpid && c.has_msr[VMX_MSR_EPT_VPID_CAP]);
	/* ept and vpid: IA32_VMX_EPT_VPID_CAP no longer exists. */
	CHECK_EQ(vmx_caps_mask(&c, "vpid", err, sizeof(err)), 0);
	CHECK(!c.vpid && !c.invvpid && !c.has_msr[VMX_MSR_EPT_VPID_CAP]);
	CHECK_EQ(c.masked, (1u << 4) | (1u << 9)); /* masks add up */
}

static void mask_unknown(void)
{
	struct vmx_caps c, before;
	char err[300] = "";
	skylake_x_msrs(&c);
	vmx_caps_decode(&c);
	before = c;
	CHECK_EQ(vmx_caps_mask(&c, "ve,bogus", err, sizeof(err)), -1);
	CHECK(!memcmp(&c, &before, sizeof(c))); /* nothing changed, not even "ve" */
	CHECK(strstr(err, "\"bogus\"") && strstr(err, "known: ve vmfunc mtf") && strstr(err, " ept"));
	CHECK_EQ(vmx_caps_mask(&c, "", err, sizeof(err)), 0); /* empty list: nothing masked */
	CHECK(!memcmp(&c, &before, sizeof(c)));
	CHECK_EQ(vmx_caps_mask(&c, "ve,", err, sizeof(err)), 0);
	CHECK(!c.ept_violation_ve);
	char tiny[8];
	CHECK_EQ(vmx_caps_mask(&c, "x", tiny, sizeof(tiny)), -1); /* a short buffer is not overrun */
	CHECK_EQ(strlen(tiny), 7);
}

void unit_caps(void)
{
	mask_each();
	mask_effects();
	mask_unknown();
	skylake_x();
	ivy_bridge_like();
	no_secondary();
	adjust();
}
