/* catch.h: exceptions as both kernels see them, the hypervisor's (kernel/trap.c) and the
 * guest's (guest/trap.c): the frame the entry stubs of kernel/vectors.inc build, the vector
 * names, and trap_catch(), which runs a function and reports the exception it raises instead
 * of dying (like kvm-unit-tests' exception fixups). kernel/catch.c is compiled into both. */
#ifndef HVLAB_CATCH_H
#define HVLAB_CATCH_H
#include "types.h"

/* What an entry stub of vectors.inc pushes, lowest address first. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

struct fault_info {
	int vector; /* -1: no fault */
	u64 error_code, rip, cr2;
};

const char *trap_name(int vector);
/* Run fn(arg); if it raises an exception, stop it there and describe the fault in *fi.
 * Returns the vector, or -1 when fn returned normally. Not reentrant. */
int trap_catch(void (*fn)(void *), void *arg, struct fault_info *fi);
/* For the exception handler: when a trap_catch() is running and f is an exception it may
 * catch, record it and make the handler's IRETQ return from trap_catch() (at CPL 0, with
 * code segment cs and stack segment ss, whatever level faulted). Returns whether it did. */
bool trap_caught(struct trap_frame *f, u16 cs, u16 ss);
#endif
