/* hcall.h: hypercall wrappers hc0..hc5 and the check macros every scenario uses. A check is
 * one HC_CHECK hypercall: the hypervisor counts it in its KTAP test case and prints the text
 * "guest/file.c:LINE: cond" when it fails. The texts live in .urodata (user-readable), so
 * GEXPECT also works at CPL 3; GEXPECT_EQ prints on the console and is for CPL 0 only. */
#ifndef HVLAB_GUEST_HCALL_H
#define HVLAB_GUEST_HCALL_H
#include "cpu.h"
#include "../vmm/hypercall.h"

/* VMCALL: number in RAX, arguments in RDI, RSI, RDX, R10, R8, result in RAX (hypercall.h).
 * The guest relies on every other register surviving the call (checked by "vmcall"). */
GUEST_INLINE s64 hc5(u64 nr, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	register u64 r10 __asm__("r10") = a4;
	register u64 r8 __asm__("r8") = a5;
	s64 ret;
	__asm__ volatile("vmcall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "memory");
	return ret;
}
GUEST_INLINE s64 hc4(u64 nr, u64 a1, u64 a2, u64 a3, u64 a4) { return hc5(nr, a1, a2, a3, a4, 0); }
GUEST_INLINE s64 hc3(u64 nr, u64 a1, u64 a2, u64 a3) { return hc5(nr, a1, a2, a3, 0, 0); }
GUEST_INLINE s64 hc2(u64 nr, u64 a1, u64 a2) { return hc5(nr, a1, a2, 0, 0, 0); }
GUEST_INLINE s64 hc1(u64 nr, u64 a1) { return hc5(nr, a1, 0, 0, 0, 0); }
GUEST_INLINE s64 hc0(u64 nr) { return hc5(nr, 0, 0, 0, 0, 0); }

/* The longest check text the hypervisor accepts (HC_CHECK_TEXT_MAX in vmm/hypercall.c). */
#define GUEST_CHECK_TEXT_MAX 200

#define GX_STR_(x) #x
#define GX_STR(x) GX_STR_(x)
/* One HC_CHECK with a literal text; GVA == GPA (identity paging), so &text is its GPA. */
#define GX_CHECK(ok, what)                                                                  \
	({                                                                                  \
		static const char gx_text_[] __attribute__((section(".urodata"))) =         \
			__FILE__ ":" GX_STR(__LINE__) ": " what;                            \
		_Static_assert(sizeof(gx_text_) - 1 <= GUEST_CHECK_TEXT_MAX, "check text too long"); \
		bool gx_ok_ = (ok);                                                         \
		hc4(HC_CHECK, gx_ok_, __LINE__, (u64)gx_text_, sizeof(gx_text_) - 1);       \
		gx_ok_;                                                                     \
	})
#define GEXPECT(cond) GX_CHECK(!!(cond), #cond)
/* CPL 0 only: on failure also prints both values. */
#define GEXPECT_EQ(a, b)                                                                    \
	({                                                                                  \
		u64 gx_a_ = (u64)(a), gx_b_ = (u64)(b);                                     \
		bool gx_r_ = GX_CHECK(gx_a_ == gx_b_, #a " == " #b);                        \
		if (!gx_r_)                                                                 \
			guest_printf("%s:%d: %s = 0x%lx (%ld), %s = 0x%lx (%ld)\n", __FILE__,     \
				     __LINE__, #a, gx_a_, (s64)gx_a_, #b, gx_b_, (s64)gx_b_);     \
		gx_r_;                                                                      \
	})
#endif
