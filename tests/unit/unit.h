/* unit.h: a tiny host unit-test harness. CHECK records a result and prints the failures;
 * main() runs every test function and ends with "N passed, N failed". */
#ifndef HVLAB_UNIT_H
#define HVLAB_UNIT_H
#include <stdio.h>
extern int unit_pass, unit_fail;
#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (c)                                                                        \
			unit_pass++;                                                          \
		else {                                                                        \
			unit_fail++;                                                          \
			fprintf(stderr, "%s:%d: %s: expected %s\n", __FILE__, __LINE__, __func__, #c); \
		}                                                                             \
	} while (0)
#define CHECK_EQ(a, b)                                                                        \
	do {                                                                                  \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);  \
		if (a_ == b_)                                                                 \
			unit_pass++;                                                          \
		else {                                                                        \
			unit_fail++;                                                          \
			fprintf(stderr, "%s:%d: %s: expected %s == %s, got 0x%llx, want 0x%llx\n", \
				__FILE__, __LINE__, __func__, #a, #b, a_, b_);                \
		}                                                                             \
	} while (0)
void unit_ept(void);
void unit_caps(void);
void unit_mb2(void);
void unit_gwalk(void);
void unit_vmcs_check(void);
struct vmx_caps;
void skylake_x_msrs(struct vmx_caps *c); /* test_caps.c: a Bochs corei7_skylake_x's VMX MSRs */
#endif
