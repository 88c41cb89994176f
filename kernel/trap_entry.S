/* trap_entry.S: the hypervisor's 32 exception vectors, which save the GPRs as struct
 * trap_frame and call trap(), and setjmp/longjmp for trap_catch(): all in vectors.inc, shared
 * with the guest kernel. */
#define EXC_HANDLER trap
#define EXC_TABLE trap_vectors
#define EXC_KDS 0x10 /* KERNEL_DS */
#include "vectors.inc"
