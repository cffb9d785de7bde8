/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 32- and 64-bit MMIO accessors for the test programs, shaped like the kernel's
 * __raw_readl()/__raw_writel(): one single-copy access the compiler can neither
 * merge, split nor drop. Ordering against normal memory is the caller's job.
 */
#ifndef PKVM_TESTS_GUEST_MMIO_H
#define PKVM_TESTS_GUEST_MMIO_H

#include <stdint.h>

#ifdef __aarch64__
static inline uint32_t mmio_read32(const void *addr)
{
	uint32_t val;

	asm volatile("ldr %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline void mmio_write32(void *addr, uint32_t val)
{
	asm volatile("str %w0, [%1]" : : "rZ" (val), "r" (addr) : "memory");
}

static inline void mmio_write64(void *addr, uint64_t val)
{
	asm volatile("str %x0, [%1]" : : "rZ" (val), "r" (addr) : "memory");
}
#else
/* Elsewhere (a syntax check on the build machine), relaxed atomics do the same. */
static inline uint32_t mmio_read32(const void *addr)
{
	return __atomic_load_n((const uint32_t *)addr, __ATOMIC_RELAXED);
}

static inline void mmio_write32(void *addr, uint32_t val)
{
	__atomic_store_n((uint32_t *)addr, val, __ATOMIC_RELAXED);
}

static inline void mmio_write64(void *addr, uint64_t val)
{
	__atomic_store_n((uint64_t *)addr, val, __ATOMIC_RELAXED);
}
#endif

#endif /* PKVM_TESTS_GUEST_MMIO_H */
