/* trap_entry.S: the 32 exception vectors (vectors.inc, shared with the guest kernel), which
 * save the GPRs as struct trap_frame and call trap(); and setjmp/longjmp for trap_catch(). */
#define EXC_HANDLER trap
#define EXC_TABLE trap_vectors
#include "vectors.inc"

/* int trap_setjmp(struct trap_jmp *j): save callee-saved registers, stack and return address;
 * returns 0 now and, through trap_longjmp, a second time with a non-zero value. */
	.text
	.globl trap_setjmp
trap_setjmp:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax               /* the caller's RSP after we return */
	mov %rax, 48(%rdi)
	mov (%rsp), %rax                /* our return address */
	mov %rax, 56(%rdi)
	xor %eax, %eax
	ret

/* trap_longjmp(struct trap_jmp *j, int val): entered by IRET from trap() with RDI, RSI set. */
	.globl trap_longjmp
trap_longjmp:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	mov %esi, %eax
	jmp *56(%rdi)
