/* bench_c.c - C workloads of the kinds real code is made of (hashing, sorting
 * with recursion, a hash table, a bytecode VM, LZ77, a tokenizer, big-integer
 * arithmetic, table-driven CRC, a recursive search), compiled three ways by
 * emulator.mk (gcc -O2, gcc -O3 -march=x86-64-v2, clang -O2: SSE2 to SSE4.2
 * as the compilers choose) with the names suffixed by V. No libc: each
 * function builds its input in the scratch memory it is given and returns a
 * checksum, so the native and the emulated run can be compared. */
#include <stddef.h>
#include <stdint.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define W(name) CAT(name, V)

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

static u64 rng(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(u8 *p, size_t n, u64 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(rng(&seed) >> 24);
}

/* FNV-1a and a 64-bit mix over n bytes, in 64-byte blocks with 4 lanes. */
u64 W(w_hash)(u8 *m, size_t n)
{
	fill(m, n, 7);
	u64 h = 0xcbf29ce484222325ull, lane[4] = {1, 2, 3, 4};
	for (size_t i = 0; i < n; i++)
		h = (h ^ m[i]) * 0x100000001b3ull;
	for (size_t i = 0; i + 32 <= n; i += 32)
		for (int k = 0; k < 4; k++) {
			u64 v;
			__builtin_memcpy(&v, m + i + 8 * k, 8);
			lane[k] = (lane[k] ^ (v * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
			lane[k] ^= lane[k] >> 29;
		}
	return h ^ lane[0] ^ (lane[1] << 1) ^ (lane[2] << 2) ^ (lane[3] << 3);
}

static void qsort_u32(u32 *a, long lo, long hi)
{
	while (lo < hi) {
		u32 p = a[(lo + hi) / 2];
		long i = lo, j = hi;
		while (i <= j) {
			while (a[i] < p)
				i++;
			while (a[j] > p)
				j--;
			if (i <= j) {
				u32 t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		if (j - lo < hi - i) {
			qsort_u32(a, lo, j);
			lo = i;
		} else {
			qsort_u32(a, i, hi);
			hi = j;
		}
	}
}

/* Quicksort (recursive) of n/4 keys, then a checksum over the order. */
u64 W(w_sort)(u8 *m, size_t n)
{
	u32 *a = (u32 *)m;
	size_t k = n / 4;
	u64 s = 99, sum = 0;
	for (size_t i = 0; i < k; i++)
		a[i] = (u32)rng(&s) % 100000;
	qsort_u32(a, 0, (long)k - 1);
	for (size_t i = 0; i < k; i++)
		sum = sum * 31 + a[i];
	return sum;
}

/* Open-addressing hash table of 16-byte string keys: insert, then look up. */
struct ent {
	char key[16];
	u32 val, used;
};

static u32 keyhash(const char *k)
{
	u32 h = 2166136261u;
	for (int i = 0; i < 16 && k[i]; i++)
		h = (h ^ (u8)k[i]) * 16777619u;
	return h;
}

static int keyeq(const char *a, const char *b)
{
	for (int i = 0; i < 16; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static void mkkey(char *k, u32 v)
{
	for (int i = 0; i < 16; i++)
		k[i] = 0;
	k[0] = 'k';
	for (int i = 1; v && i < 15; i++, v /= 26)
		k[i] = (char)('a' + v % 26);
}

u64 W(w_table)(u8 *m, size_t n)
{
	struct ent *t = (struct ent *)m;
	u32 cap = 1;
	while ((cap * 2) * sizeof(struct ent) <= n)
		cap *= 2;
	for (u32 i = 0; i < cap; i++)
		t[i].used = 0;
	u64 s = 5, found = 0;
	char k[16];
	for (u32 i = 0; i < cap / 2; i++) {
		mkkey(k, (u32)rng(&s) % (cap * 2));
		u32 h = keyhash(k) & (cap - 1);
		while (t[h].used && !keyeq(t[h].key, k))
			h = (h + 1) & (cap - 1);
		for (int j = 0; j < 16; j++)
			t[h].key[j] = k[j];
		t[h].val = i, t[h].used = 1;
	}
	for (u32 i = 0; i < cap; i++) {
		mkkey(k, i);
		u32 h = keyhash(k) & (cap - 1);
		while (t[h].used && !keyeq(t[h].key, k))
			h = (h + 1) & (cap - 1);
		found += t[h].used ? t[h].val + 1 : 0;
	}
	return found;
}

/* A stack bytecode VM running a generated program (a loop of arithmetic). */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_SHR, OP_JNZ, OP_DEC, OP_HALT };

u64 W(w_vm)(u8 *m, size_t n)
{
	u32 *code = (u32 *)m, pc = 0, sp = 0, iters = (u32)(n / 64);
	u64 st[64], var[8] = {0};
	u32 p[] = {OP_PUSH, iters, OP_STORE, 0, /* var0 = count */
		   OP_LOAD, 1, OP_PUSH, 7, OP_MUL, OP_LOAD, 0, OP_ADD, OP_PUSH, 3, OP_SHR, OP_LOAD, 2,
		   OP_XOR, OP_STORE, 1, OP_LOAD, 1, OP_PUSH, 12345, OP_SUB, OP_STORE, 2,
		   OP_LOAD, 0, OP_DEC, OP_STORE, 0, OP_LOAD, 0, OP_JNZ, 4, OP_HALT};
	for (u32 i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		code[i] = p[i];
	for (;;) {
		u32 op = code[pc++];
		switch (op) {
		case OP_PUSH: st[sp++] = code[pc++]; break;
		case OP_LOAD: st[sp++] = var[code[pc++] & 7]; break;
		case OP_STORE: var[code[pc++] & 7] = st[--sp]; break;
		case OP_ADD: sp--, st[sp - 1] += st[sp]; break;
		case OP_SUB: sp--, st[sp - 1] -= st[sp]; break;
		case OP_MUL: sp--, st[sp - 1] *= st[sp]; break;
		case OP_XOR: sp--, st[sp - 1] ^= st[sp]; break;
		case OP_SHR: sp--, st[sp - 1] >>= st[sp] & 63; break;
		case OP_DEC: st[sp - 1]--; break;
		case OP_JNZ: {
			u32 t = code[pc++];
			if (st[--sp])
				pc = t;
			break;
		}
		default: return var[1] ^ var[2];
		}
	}
}

/* LZ77 with a hash of 3-byte prefixes over generated text, then decode and check. */
u64 W(w_lz77)(u8 *m, size_t n)
{
	size_t len = n / 4;
	u8 *src = m, *out = m + len, *dec = m + 2 * len + 16;
	u32 *head = (u32 *)(m + 3 * len + 32);
	static const char words[] = "the quick brown fox jumps over lazy dogs and cats run far away ";
	u64 s = 3;
	for (size_t i = 0; i < len;) {
		size_t w = (rng(&s) % 12) * 5, k = 0;
		while (i < len && k < 5)
			src[i++] = (u8)words[w + k++];
	}
	for (int i = 0; i < 4096; i++)
		head[i] = 0xffffffffu;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		u32 h = i + 2 < len ? ((src[i] << 4) ^ (src[i + 1] << 2) ^ src[i + 2]) & 4095 : 0, best = 0, dist = 0;
		u32 c = head[h];
		if (i + 2 < len && c != 0xffffffffu && i - c < 4096) {
			while (best < 255 && i + best < len && src[c + best] == src[i + best])
				best++;
			dist = (u32)(i - c);
		}
		if (i + 2 < len)
			head[h] = (u32)i;
		if (best >= 3) {
			out[o++] = 1, out[o++] = (u8)best, out[o++] = (u8)dist, out[o++] = (u8)(dist >> 8);
			i += best;
		} else {
			out[o++] = 0, out[o++] = src[i++];
		}
	}
	size_t d = 0;
	for (size_t i = 0; i < o;) {
		if (out[i++]) {
			u32 l = out[i], dist = out[i + 1] | (u32)out[i + 2] << 8;
			i += 3;
			while (l--)
				dec[d] = dec[d - dist], d++;
		} else {
			dec[d++] = out[i++];
		}
	}
	u64 sum = o;
	for (size_t i = 0; i < d; i++)
		sum = sum * 33 + (dec[i] ^ src[i]);
	return sum;
}

/* A tokenizer over generated C-like text: identifiers, numbers, operators. */
u64 W(w_tokens)(u8 *m, size_t n)
{
	static const char *const frags[] = {"int ", "x", "y1", " = ", "42", "+", "foo(", ")", ";\n", "  ", "while",
					    "==", "0x1f", "return ", "{", "}", "ab_c", "<<="};
	u64 s = 11, h = 0, counts[4] = {0};
	size_t len = 0;
	while (len + 8 < n) {
		const char *f = frags[rng(&s) % 18];
		while (*f && len < n)
			m[len++] = (u8)*f++;
	}
	for (size_t i = 0; i < len;) {
		u8 c = m[i];
		size_t j = i;
		int kind;
		if (c == ' ' || c == '\n') {
			i++;
			continue;
		} else if ((c >= 'a' && c <= 'z') || c == '_') {
			while (j < len && ((m[j] >= 'a' && m[j] <= 'z') || (m[j] >= '0' && m[j] <= '9') || m[j] == '_'))
				j++;
			kind = 0;
		} else if (c >= '0' && c <= '9') {
			while (j < len && ((m[j] >= '0' && m[j] <= '9') || m[j] == 'x' || (m[j] >= 'a' && m[j] <= 'f')))
				j++;
			kind = 1;
		} else if (c == '(' || c == ')' || c == '{' || c == '}' || c == ';') {
			j++;
			kind = 2;
		} else {
			while (j < len && (m[j] == '=' || m[j] == '<' || m[j] == '+'))
				j++;
			kind = 3;
			if (j == i)
				j++;
		}
		counts[kind]++;
		for (size_t k = i; k < j; k++)
			h = (h ^ m[k]) * 0x100000001b3ull;
		i = j;
	}
	return h ^ counts[0] ^ (counts[1] << 16) ^ (counts[2] << 32) ^ (counts[3] << 48);
}

/* Big integers: n! in base 2^32 limbs, then the sum of the limbs. */
u64 W(w_bigint)(u8 *m, size_t n)
{
	u32 *x = (u32 *)m, len = 1, fac = (u32)(n / 24);
	x[0] = 1;
	for (u32 f = 2; f <= fac; f++) {
		u64 carry = 0;
		for (u32 i = 0; i < len; i++) {
			u64 v = (u64)x[i] * f + carry;
			x[i] = (u32)v;
			carry = v >> 32;
		}
		if (carry)
			x[len++] = (u32)carry;
	}
	u64 sum = len;
	for (u32 i = 0; i < len; i++)
		sum = sum * 1000003 + x[i];
	return sum;
}

/* Table-driven CRC-32 (the table built first), slicing by one byte. */
u64 W(w_crc)(u8 *m, size_t n)
{
	u32 *tab = (u32 *)m;
	u8 *p = m + 1024;
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
		tab[i] = c;
	}
	fill(p, n - 1024, 13);
	u32 crc = 0xffffffffu;
	for (size_t i = 0; i < n - 1024; i++)
		crc = (crc >> 8) ^ tab[(crc ^ p[i]) & 0xff];
	return ~crc;
}

/* Recursion: N-queens by backtracking, the board size from n. */
static u64 queens(int row, int size, u32 cols, u32 d1, u32 d2)
{
	if (row == size)
		return 1;
	u64 c = 0;
	for (u32 avail = ~(cols | d1 | d2) & ((1u << size) - 1); avail; avail &= avail - 1) {
		u32 b = avail & (0u - avail);
		c += queens(row + 1, size, cols | b, (d1 | b) << 1, (d2 | b) >> 1);
	}
	return c;
}

u64 W(w_queens)(u8 *m, size_t n)
{
	(void)m;
	return queens(0, n > 200000 ? 9 : n > 4000 ? 8 : 7, 0, 0, 0);
}
