/* fuzz.h: the guest side of snapshot fuzzing (docs/fuzzing.md). A target is a function
 * int NAME(const u8 *data, u64 size) in its own file here, listed in harness.c's table; it
 * returns 0 (or any status) and crashes by faulting or by fuzz_panic(). */
#ifndef HVLAB_GUEST_FUZZ_H
#define HVLAB_GUEST_FUZZ_H
#include "../guest.h"

#define FUZZ_INPUT_BYTES 4096 /* the harness's input buffer */
typedef int fuzz_target_fn(const u8 *data, u64 size);
fuzz_target_fn fuzz_target_tlv, fuzz_target_checksum, fuzz_target_bytecode, fuzz_target_clean,
	fuzz_target_pages, fuzz_target_crash, fuzz_target_selfsum;
/* The target's own assertion failed: HC_FUZZ_PANIC, a crash the fuzzer records. */
static inline void fuzz_panic(u64 code) { hc1(HC_FUZZ_PANIC, code); }
void scen_fuzz(struct hv_boot_info *bi);
void scen_fuzz_bad(struct hv_boot_info *bi);
#endif
