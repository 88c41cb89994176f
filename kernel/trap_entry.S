/* trap_entry.S: the 32 exception vectors. Each stub makes the stack look the same
 * (error code or 0, then vector), saves the GPRs as struct trap_frame and calls trap(). */
	.text
	.macro VEC n, has_err
	.globl vec\n
vec\n:
	.if \has_err == 0
	pushq $0                        /* no CPU error code: push a dummy */
	.endif
	pushq $\n                       /* vector number */
	jmp trap_common
	.endm

	/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30 (SDM "Exception and
	 * Interrupt Reference"). */
	VEC 0,0; VEC 1,0; VEC 2,0; VEC 3,0; VEC 4,0; VEC 5,0; VEC 6,0; VEC 7,0
	VEC 8,1; VEC 9,0; VEC 10,1; VEC 11,1; VEC 12,1; VEC 13,1; VEC 14,1; VEC 15,0
	VEC 16,0; VEC 17,1; VEC 18,0; VEC 19,0; VEC 20,0; VEC 21,1; VEC 22,0; VEC 23,0
	VEC 24,0; VEC 25,0; VEC 26,0; VEC 27,0; VEC 28,0; VEC 29,1; VEC 30,1; VEC 31,0

trap_common:
	push %rax                       /* save GPRs in struct trap_frame order (reversed) */
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi                  /* trap(struct trap_frame *) */
	mov %rsp, %rbx                  /* rbx is callee-saved: remember the frame */
	and $-16, %rsp                  /* SysV ABI: 16-byte aligned stack at the call */
	call trap
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp                   /* drop vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad vec\n
	.endr

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
