/* spinlock.c: spinlocks for the hypervisor's CPUs. XCHG is a locked read-modify-write (SDM
 * "Locked Atomic Operations"), PAUSE eases the spin. The hypervisor never takes interrupts while
 * it holds a lock (its interrupts are enabled only in idle waits), so there is no IRQ-safe
 * variant. The recursive form lets a CPU that holds the console lock report an exception. */
#include "defs.h"

static inline u32 xchg32(volatile u32 *p, u32 v)
{
	__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

bool spin_trylock(struct spinlock *l)
{
	if (xchg32(&l->locked, 1))
		return false;
	l->cpu = (s32)cpu_id();
	return true;
}

void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l))
		while (l->locked)
			__asm__ volatile("pause");
}

void spin_unlock(struct spinlock *l)
{
	l->cpu = -1;
	__asm__ volatile("" ::: "memory");
	l->locked = 0;
}

void spin_lock_recursive(struct spinlock *l)
{
	if (l->locked && l->cpu == (s32)cpu_id()) {
		l->depth++;
		return;
	}
	spin_lock(l);
	l->depth = 1;
}

void spin_unlock_recursive(struct spinlock *l)
{
	if (--l->depth == 0)
		spin_unlock(l);
}
