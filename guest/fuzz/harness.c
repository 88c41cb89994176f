/* harness.c: the guest's fuzzing harness (scenario "fuzz:NAME"): find target NAME, ask for the
 * snapshot right before calling it (HC_FUZZ_SNAPSHOT returns the input's size; the hypervisor
 * wrote the input into the buffer), call it, end the iteration with HC_FUZZ_END(status). The
 * hypervisor resumes every iteration at the snapshot, so this code runs once per boot up to the
 * hypercall. Scenario "fuzz_bad" makes the calls the hypervisor must refuse. */
#include "fuzz.h"

struct target {
	const char *name;
	fuzz_target_fn *fn;
};
static const struct target targets[] = {
	{"tlv", fuzz_target_tlv},     {"checksum", fuzz_target_checksum}, {"bytecode", fuzz_target_bytecode},
	{"clean", fuzz_target_clean}, {"pages", fuzz_target_pages},       {"crash", fuzz_target_crash},
	{"selfsum", fuzz_target_selfsum},
};
static u8 input[FUZZ_INPUT_BYTES] __attribute__((aligned(4096)));

void scen_fuzz(struct hv_boot_info *bi)
{
	const char *name = bi->scenario + 5; /* after "fuzz:" */
	const struct target *t = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
		if (!strcmp(targets[i].name, name))
			t = &targets[i];
	if (!t) {
		guest_printf("unknown fuzz target \"%s\"; known:", name);
		for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
			guest_printf(" %s", targets[i].name);
		guest_printf("\n");
		guest_exit(2);
	}
	/* arg bit 0: the target's first code page is an emulated region (its instructions run in the
	 * hypervisor's interpreter: tests of dirty tracking for the interpreter's writes) */
	if (bi->arg & 1) {
		s64 id = hc3(HC_REGION_ADD, HV_TRAP_GVA, ALIGN_DOWN((u64)t->fn, PAGE_SIZE), PAGE_SIZE);
		if (id < 0) {
			guest_printf("HC_REGION_ADD for the target refused with %ld\n", id);
			guest_exit(6);
		}
	}
	s64 n = hc2(HC_FUZZ_SNAPSHOT, (u64)input, sizeof(input));
	if (n < 0) {
		guest_printf("HC_FUZZ_SNAPSHOT refused with %ld\n", n);
		guest_exit(4);
	}
	s64 status = t->fn(input, n);
	hc1(HC_FUZZ_END, status);
	guest_printf("HC_FUZZ_END returned\n");
	guest_exit(5);
}

static GUEST_USER_TEXT u64 user_snapshot(void *arg)
{
	return hc2(HC_FUZZ_SNAPSHOT, (u64)arg, 16);
}
static GUEST_USER_TEXT u64 user_end(void *arg)
{
	(void)arg;
	return hc1(HC_FUZZ_END, 0);
}

/* Every refusal, then a good snapshot; the iteration then tries a second one (-EBUSY, which
 * it returns as its status for the hypervisor's test to see). */
void scen_fuzz_bad(struct hv_boot_info *bi)
{
	GEXPECT_EQ(hc1(HC_FUZZ_END, 0), -HV_EINVAL);               /* an end without a snapshot */
	GEXPECT_EQ(hc1(HC_FUZZ_PANIC, 1), -HV_EINVAL);             /* a panic without one */
	GEXPECT_EQ(hc2(HC_FUZZ_SNAPSHOT, bi->ram_size, 16), -HV_EFAULT);        /* outside RAM */
	GEXPECT_EQ(hc2(HC_FUZZ_SNAPSHOT, bi->ram_size - 8, 16), -HV_EFAULT);    /* across its end */
	GEXPECT_EQ(hc2(HC_FUZZ_SNAPSHOT, (u64)input, HV_FUZZ_INPUT_MAX + 1), -HV_EINVAL); /* too large */
	GEXPECT_EQ(hc2(HC_FUZZ_SNAPSHOT, (u64)input, 0), -HV_EINVAL);
	GEXPECT_EQ((s64)guest_user_call(user_snapshot, input, guest_user_stack_top), -HV_EPERM);
	GEXPECT_EQ((s64)guest_user_call(user_end, NULL, guest_user_stack_top), -HV_EPERM);
	s64 n = hc2(HC_FUZZ_SNAPSHOT, (u64)input, sizeof(input));
	if (n < 0)
		guest_exit(4);
	s64 again = hc2(HC_FUZZ_SNAPSHOT, (u64)input, sizeof(input));
	s64 user = guest_user_call(user_end, NULL, guest_user_stack_top);
	hc1(HC_FUZZ_END, (u64)again << 8 | (u8)user);
	guest_exit(5);
}
