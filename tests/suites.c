/* suites.c: the table of in-VM suites and the capability probe every run prints first. */
#include "suites.h"
#include "../vmm/vmm.h"

const struct ktap_suite *const ktap_suites[] = {
	&boot_suite,
	&vmx_caps_suite,
	&vmxon_suite,
	&selftest_ktap_suite, /* runs only when named */
};
const int ktap_nsuites = ARRAY_SIZE(ktap_suites);

/* Runs before the plan: one diagnostic line that says what this CPU offers. */
void ktap_probe(void)
{
	vmx_caps_probe(&vmx_caps);
	vmx_caps_print(&vmx_caps);
}

/* For suites that need VMX: the reason names what is missing (QEMU TCG has no VMX). */
const char *skip_unless_vmx(void) { return vmx_caps.vmx ? NULL : vmx_caps.no_vmx; }
