/*
 * colinux CPU benchmark: a fixed amount of CPU-bound work, run inside the
 * guest by `npm run bench` on both colinux and QEMU.
 *
 * Six phases, each timed with CLOCK_MONOTONIC:
 *   sieve   prime sieve over an 8 MiB byte array (streaming stores/loads)
 *   sort    quicksort of 1 Mi pseudo-random 32-bit values (branchy, 4 MiB)
 *   hash    open-addressing hash table, 2^19 slots of 8 bytes (random access)
 *   matrix  160x160 integer matrix products (multiply-add, cache friendly)
 *   chase   pointer chase through a random cycle over 4 MiB (load latency, TLB)
 *   fp      gravity between 64 bodies in double precision (multiply, add,
 *           divide, square root)
 *
 * Repeat counts are chosen so that each phase takes roughly the same time
 * (about 0.7 s) on qemu-system-riscv64 TCG on a typical x86-64 host, so the
 * total weighs the kinds of work about equally there.
 *
 * Output (one line per phase, then a summary line):
 *   cpubench: phase=<name> ms=<elapsed> check=<hex>
 *   cpubench: total ms=<elapsed> checksum=<hex>
 * The checksum depends only on the work done, never on timing, so it must be
 * identical on every correct machine.
 *
 * Build: riscv64-linux-gnu-gcc -static -O2 -o cpubench cpubench.c
 * Usage: cpubench [scale]   (scale multiplies every phase's repeat count; default 1)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 31);
}

/*
 * The clock_gettime system call itself, not the vDSO: the vDSO reads the
 * `time` CSR from user mode, which only works if the machine's boot path
 * enabled it (scounteren); a system call measures the same on any machine
 * and costs nothing next to the phases it brackets.
 */
static double now_ms(void)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0) {
		perror("cpubench: clock_gettime");
		exit(2);
	}
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "cpubench: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* ---- sieve ---- */
#define SIEVE_N (8u << 20)

static uint64_t phase_sieve(int reps)
{
	uint8_t *composite = xmalloc(SIEVE_N);
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		memset(composite, 0, SIEVE_N);
		uint32_t count = 0;
		uint64_t sum = 0;
		for (uint32_t i = 2; i < SIEVE_N; i++) {
			if (composite[i])
				continue;
			count++;
			sum += i;
			if ((uint64_t)i * i < SIEVE_N)
				for (uint32_t j = i * i; j < SIEVE_N; j += i)
					composite[j] = 1;
		}
		check = mix64(check, count);
		check = mix64(check, sum);
	}
	free(composite);
	return check;
}

/* ---- sort ---- */
#define SORT_N (1u << 20)

static void insertion_sort(uint32_t *a, long lo, long hi)
{
	for (long i = lo + 1; i <= hi; i++) {
		uint32_t v = a[i];
		long j = i - 1;
		while (j >= lo && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static void quick_sort(uint32_t *a, long lo, long hi)
{
	while (hi - lo > 16) {
		long mid = lo + (hi - lo) / 2;
		/* median of three */
		uint32_t x = a[lo], y = a[mid], z = a[hi];
		uint32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		long i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				uint32_t t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		}
		/* recurse into the smaller part, loop on the larger */
		if (j - lo < hi - i) {
			quick_sort(a, lo, j);
			lo = i;
		} else {
			quick_sort(a, i, hi);
			hi = j;
		}
	}
	insertion_sort(a, lo, hi);
}

static uint64_t phase_sort(int reps)
{
	uint32_t *a = xmalloc(SORT_N * sizeof *a);
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		for (uint32_t i = 0; i < SORT_N; i++)
			a[i] = (uint32_t)(rng_next() >> 32);
		quick_sort(a, 0, SORT_N - 1);
		uint64_t sum = 0;
		uint32_t unsorted = 0;
		for (uint32_t i = 0; i < SORT_N; i++) {
			if (i > 0 && a[i - 1] > a[i])
				unsorted++;
			sum += (uint64_t)a[i] * (i | 1);
		}
		check = mix64(check, sum);
		check = mix64(check, unsorted);
	}
	free(a);
	return check;
}

/* ---- hash ---- */
#define HASH_BITS 19
#define HASH_SLOTS (1u << HASH_BITS)
#define HASH_KEYS (HASH_SLOTS / 2)

/* slot of a key: a multiply-xorshift finaliser, so probes land anywhere */
static uint64_t hash_slot(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xFF51AFD7ED558CCDULL;
	key ^= key >> 33;
	return key >> (64 - HASH_BITS);
}

static uint64_t phase_hash(int reps)
{
	uint64_t *table = xmalloc(HASH_SLOTS * sizeof *table);
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		memset(table, 0, HASH_SLOTS * sizeof *table);
		uint64_t seed = rng_next() | 1;
		uint64_t probes = 0;
		/* insert HASH_KEYS distinct non-zero keys: k = odd multiple of seed */
		for (uint64_t n = 0; n < HASH_KEYS; n++) {
			uint64_t key = (n * 2 + 1) * seed;
			uint64_t h = hash_slot(key);
			while (table[h] != 0 && table[h] != key) {
				h = (h + 1) & (HASH_SLOTS - 1);
				probes++;
			}
			table[h] = key;
		}
		/* look up twice as many keys, half of them present */
		uint64_t hits = 0;
		for (uint64_t n = 0; n < HASH_KEYS * 2; n++) {
			uint64_t key = (n + 1) * seed;
			uint64_t h = hash_slot(key);
			for (;;) {
				uint64_t v = table[h];
				if (v == key) {
					hits++;
					break;
				}
				if (v == 0)
					break;
				h = (h + 1) & (HASH_SLOTS - 1);
				probes++;
			}
		}
		check = mix64(check, hits);
		check = mix64(check, probes);
	}
	free(table);
	return check;
}

/* ---- matrix ---- */
#define MAT_N 160

static uint64_t phase_matrix(int reps)
{
	uint32_t *a = xmalloc(MAT_N * MAT_N * sizeof *a);
	uint32_t *b = xmalloc(MAT_N * MAT_N * sizeof *b);
	uint32_t *c = xmalloc(MAT_N * MAT_N * sizeof *c);
	for (int i = 0; i < MAT_N * MAT_N; i++) {
		a[i] = (uint32_t)rng_next();
		b[i] = (uint32_t)rng_next();
	}
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		memset(c, 0, MAT_N * MAT_N * sizeof *c);
		for (int i = 0; i < MAT_N; i++)
			for (int k = 0; k < MAT_N; k++) {
				uint32_t aik = a[i * MAT_N + k];
				const uint32_t *brow = b + k * MAT_N;
				uint32_t *crow = c + i * MAT_N;
				for (int j = 0; j < MAT_N; j++)
					crow[j] += aik * brow[j];
			}
		uint64_t sum = 0;
		for (int i = 0; i < MAT_N * MAT_N; i++)
			sum = sum * 31 + c[i];
		check = mix64(check, sum);
		/* feed the result back so every repetition differs */
		uint32_t *t = a;
		a = c;
		c = t;
	}
	free(a);
	free(b);
	free(c);
	return check;
}

/* ---- chase ---- */
#define CHASE_N (1u << 20)
#define CHASE_STEPS (1u << 21)

static uint64_t phase_chase(int reps)
{
	uint32_t *next = xmalloc(CHASE_N * sizeof *next);
	uint32_t *perm = xmalloc(CHASE_N * sizeof *perm);
	for (uint32_t i = 0; i < CHASE_N; i++)
		perm[i] = i;
	/* Fisher-Yates shuffle, then link the permutation into one cycle */
	for (uint32_t i = CHASE_N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng_next() % (i + 1));
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (uint32_t i = 0; i < CHASE_N; i++)
		next[perm[i]] = perm[(i + 1) % CHASE_N];
	free(perm);
	uint64_t check = 0;
	uint32_t p = 0;
	for (int r = 0; r < reps; r++) {
		uint64_t sum = 0;
		for (uint32_t s = 0; s < CHASE_STEPS; s++) {
			p = next[p];
			sum += p;
		}
		check = mix64(check, sum);
	}
	free(next);
	return check;
}

/* ---- fp ---- */
#define BODIES 64

static uint64_t phase_fp(int reps)
{
	double x[BODIES], y[BODIES], vx[BODIES], vy[BODIES];
	for (int i = 0; i < BODIES; i++) {
		x[i] = (double)(rng_next() >> 11) / 9007199254740992.0 * 100.0;
		y[i] = (double)(rng_next() >> 11) / 9007199254740992.0 * 100.0;
		vx[i] = 0;
		vy[i] = 0;
	}
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		for (int step = 0; step < 10; step++) {
			for (int i = 0; i < BODIES; i++) {
				double ax = 0, ay = 0;
				for (int j = 0; j < BODIES; j++) {
					double dx = x[j] - x[i], dy = y[j] - y[i];
					double d2 = dx * dx + dy * dy + 0.01;
					double inv = 1.0 / (d2 * sqrt(d2));
					ax += dx * inv;
					ay += dy * inv;
				}
				vx[i] += ax * 0.001;
				vy[i] += ay * 0.001;
			}
			for (int i = 0; i < BODIES; i++) {
				x[i] += vx[i] * 0.01;
				y[i] += vy[i] * 0.01;
			}
		}
		double e = 0;
		for (int i = 0; i < BODIES; i++)
			e += vx[i] * vx[i] + vy[i] * vy[i];
		uint64_t bits;
		memcpy(&bits, &e, sizeof bits);
		check = mix64(check, bits);
	}
	return check;
}

struct phase {
	const char *name;
	uint64_t (*run)(int reps);
	int reps;
};

int main(int argc, char **argv)
{
	int scale = 1;
	if (argc > 1) {
		scale = atoi(argv[1]);
		if (scale < 1 || scale > 1000) {
			fprintf(stderr, "usage: cpubench [scale 1..1000]\n");
			return 2;
		}
	}
	static const struct phase phases[] = {
		{ "sieve", phase_sieve, 3 },   { "sort", phase_sort, 4 },   { "hash", phase_hash, 3 },
		{ "matrix", phase_matrix, 60 }, { "chase", phase_chase, 1 }, { "fp", phase_fp, 20 },
	};
	rng_state = 0x0123456789ABCDEFULL;
	uint64_t checksum = 0;
	printf("cpubench: start scale=%d\n", scale);
	fflush(stdout);
	double t_all = now_ms();
	for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
		double t0 = now_ms();
		uint64_t c = phases[i].run(phases[i].reps * scale);
		double t1 = now_ms();
		checksum = mix64(checksum, c);
		printf("cpubench: phase=%s ms=%.3f check=%016llx\n", phases[i].name, t1 - t0,
		       (unsigned long long)c);
		fflush(stdout);
	}
	double total = now_ms() - t_all;
	printf("cpubench: total ms=%.3f checksum=%016llx\n", total, (unsigned long long)checksum);
	fflush(stdout);
	return 0;
}
