/* test_caps.c: capability decoding from raw MSR values, including the values a Bochs
 * corei7_skylake_x reports (shared/notes/bochs-vmx-probe.md), and control-bit adjustment. */
#include "unit.h"
#include "../../vmm/vmm.h"

static void skylake_x(void)
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

void unit_caps(void)
{
	skylake_x();
	ivy_bridge_like();
	no_secondary();
	adjust();
}
