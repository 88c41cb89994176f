/* vmcs_check.h: shared by vmcs_check.c (controls, host state, the driver) and
 * vmcs_check_guest.c (guest state) only; the interface is in vmm.h. */
#ifndef HVLAB_VMCS_CHECK_H
#define HVLAB_VMCS_CHECK_H

/* One rule: a short stable name (tests compare it), the SDM section that states it, its words. */
struct vmcs_rule {
	const char *name, *section, *sdm;
};
#define CHK_CACHE 160
struct chk_field {
	u64 field, val;
};
struct chk {
	const struct vmcs_check_in *in;
	struct vmcs_violation *v;
	u64 pin, proc, proc2, exit, entry; /* the controls (proc2 = 0 without "activate secondary") */
	bool ia32e, ug;                    /* "IA-32e mode guest", "unrestricted guest" */
	int ncache;
	struct chk_field cache[CHK_CACHE]; /* each field read once */
};
/* IA32_EFER bits that exist on Intel 64 (SCE, LME, LMA, NXE); the others are reserved. */
#define CHK_EFER_KNOWN (BIT(0) | BIT(8) | BIT(10) | BIT(11))

u64 chk_rd(struct chk *x, u64 field);
int chk_fail(struct chk *x, const struct vmcs_rule *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool chk_canonical(u64 a);
bool chk_beyond_width(const struct chk *x, u64 a);
int chk_pat_bad_byte(u64 pat);
int chk_fixed(struct chk *x, const struct vmcs_rule *r, const char *name, u64 v, int fixed0, u64 ignore);
int chk_guest(struct chk *x);
#endif
