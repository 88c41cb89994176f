/* bench_work.c - benchmark workloads, compiled with -O2 but without SSE so
 * that the same machine code runs natively and in the emulator. No libc
 * calls: each function is self-contained and returns a checksum. */
#include <stddef.h>
#include <stdint.h>

uint64_t work_alu(uint64_t n);
uint64_t work_crc32(const uint8_t *p, size_t n);
uint64_t work_sort(uint32_t *a, size_t n);
uint64_t work_rep_movsb(uint8_t *d, const uint8_t *s, size_t n, size_t reps);
uint64_t work_loop_copy(uint8_t *d, const uint8_t *s, size_t n, size_t reps);
uint64_t work_random(uint64_t *a, size_t n, size_t iters);

/* Tight ALU loop: adds, xors, shifts, a multiply and a compare per turn. */
uint64_t work_alu(uint64_t n)
{
	uint64_t a = 1, b = 2, c = 3;
	for (uint64_t i = 0; i < n; i++) {
		a += b ^ i;
		b = (b << 3) | (b >> 61);
		c ^= a * 5;
		if (c & 1)
			a -= c >> 7;
	}
	return a ^ b ^ c;
}

/* Bitwise CRC-32 (IEEE, reflected). */
uint64_t work_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void sift(uint32_t *a, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && a[l] > a[m])
			m = l;
		if (l + 1 < n && a[l + 1] > a[m])
			m = l + 1;
		if (m == i)
			return;
		uint32_t t = a[i];
		a[i] = a[m];
		a[m] = t;
		i = m;
	}
}

/* Heap sort of n 32-bit keys generated in place. */
uint64_t work_sort(uint32_t *a, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		a[i] = x >> 3;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (size_t i = n; i-- > 1;) {
		uint32_t t = a[0];
		a[0] = a[i];
		a[i] = t;
		sift(a, 0, i);
	}
	return a[0] ^ a[n / 2] ^ a[n - 1];
}

uint64_t work_rep_movsb(uint8_t *d, const uint8_t *s, size_t n, size_t reps)
{
	for (size_t r = 0; r < reps; r++) {
		uint8_t *dd = d;
		const uint8_t *ss = s;
		size_t c = n;
		__asm__ volatile("rep movsb" : "+D"(dd), "+S"(ss), "+c"(c) : : "memory");
	}
	return d[n - 1];
}

/* Word-at-a-time copy loop (8 bytes per iteration). */
uint64_t work_loop_copy(uint8_t *d, const uint8_t *s, size_t n, size_t reps)
{
	for (size_t r = 0; r < reps; r++) {
		volatile uint64_t *vd = (volatile uint64_t *)d;
		const uint64_t *vs = (const uint64_t *)s;
		for (size_t i = 0; i < n / 8; i++)
			vd[i] = vs[i];
	}
	return d[n - 1];
}

/* Random read-modify-writes over n 64-bit words (n a power of two): the
 * data TLB's worst case once the array spans more pages than it has entries. */
uint64_t work_random(uint64_t *a, size_t n, size_t iters)
{
	uint64_t x = 88172645463325252ull, sum = 0;
	for (size_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t *p = &a[x & (n - 1)];
		sum += *p;
		*p = sum ^ i;
	}
	return sum;
}
