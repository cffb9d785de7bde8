// SPDX-License-Identifier: GPL-2.0-only
/*
 * What EL2 provides to the IOMMU code, in userspace: the physical memory
 * pool (the hypervisor's linear map), the page-state table with the
 * transitions of arch/arm64/kvm/hyp/nvhe/mem_protect.c, the memcache refill
 * of nvhe/mm.c, private device mappings, per-CPU identity, the counter (fast:
 * see __arch_counter_get_cntpct()) and the CPU state kvm_pgtable reads.
 *
 * Each ownership call checks what mem_protect.c checks, in the same order,
 * returns the same errno, and calls the IOMMU's ownership hooks
 * (pkvm_iommu_host_lost/gained) with the host lock held, as
 * host_stage2_set_owner_locked() does. Anything EL2 would treat as fatal
 * (WARN_ON, an access outside the linear map) aborts.
 *
 * Threads: each thread of a test is one CPU (el2_set_cpu()). The page-state
 * table is only changed under the host lock (and the hyp lock for the hyp
 * view), as mem_protect.c does; the test's own host allocator
 * (el2_host_alloc()) and its reads of the table (el2_page_get(),
 * el2_count_state()) take the same locks. el2_page() gives the entry
 * itself, for single-threaded tests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pkvm.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/mm.h>
#include <nvhe/pci_cfg.h>
#include <nvhe/pkvm.h>
#include <nvhe/smmu_v3.h>
#include <nvhe/spinlock.h>

#include "el2.h"

/* The kernel's fixed-size tables. */
#define EL2_HYP_MMIO_MAX	64	/* PKVM_HYP_MMIO_MAX */

unsigned long hyp_nr_cpus;
u64 id_aa64mmfr0_el1_sys_val;
u64 id_aa64mmfr1_el1_sys_val;
bool el2_protected_mode;
struct static_key_false kvm_protected_mode_initialized;
u64 el2_cpucaps[(ARM64_NCAPS + 63) / 64];
struct memblock_region hyp_memory[HYP_MEMBLOCK_REGIONS];
unsigned int hyp_memblock_nr;
/* ELR_EL2 of each CPU (asm/kvm_hyp.h shim): the host's PC at its last trap. */
__thread u64 el2_sysreg_el2_SYS_ELR;

u64 el2_cpu_tlbi_count;
u64 el2_dcache_flush_count;

static u8 *el2_mem;
static struct el2_page el2_pages[EL2_MEM_PAGES];
/* Lock order as at EL2: host, then hyp. */
static DEFINE_HYP_SPINLOCK(el2_host_lock);
static DEFINE_HYP_SPINLOCK(el2_hyp_lock);
/* The MMIO the host gave away: the hypervisor's (handle 0) and protected VMs'. */
static struct {
	phys_addr_t start, end;
	pkvm_handle_t handle;
} el2_mmio[EL2_HYP_MMIO_MAX];
static unsigned int el2_mmio_nr;
/* mem_protect.c's host_mmio_borrowed: pages of host MMIO in domains. */
u64 el2_mmio_borrowed;
static __thread unsigned int el2_cpu;
/* Host allocator: which pages the test's "host kernel" has handed out. */
static bool el2_host_used[EL2_MEM_PAGES];

void el2_warn(const char *file, int line, const char *cond)
{
	fprintf(stderr, "EL2 WARN at %s:%d: %s (fatal at EL2)\n", file, line, cond);
	abort();
}

void el2_unmodelled(const char *what)
{
	fprintf(stderr, "EL2: reached %s, which the harness does not model\n", what);
	abort();
}

unsigned int el2_this_cpu(void)
{
	return el2_cpu;
}

void el2_set_cpu(unsigned int cpu)
{
	if (cpu >= hyp_nr_cpus)
		el2_unmodelled("a CPU number beyond hyp_nr_cpus");
	el2_cpu = cpu;
}

/*
 * The counter runs at 1 GHz, and every read also moves it on by
 * EL2_COUNTER_STEP: a wait whose condition never holds (a device that does
 * not answer) reaches its deadline after about a hundred reads, not after
 * real milliseconds; a wait that succeeds on its first check reads it once.
 */
#define EL2_COUNTER_STEP	1000000ULL	/* 1 ms */
static u64 el2_counter_skew;

u64 __arch_counter_get_cntpct(void)
{
	struct timespec ts;
	u64 skew = __atomic_add_fetch(&el2_counter_skew, EL2_COUNTER_STEP,
				      __ATOMIC_RELAXED);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec + skew;
}

u64 el2_read_sysreg_cntfrq_el0(void)
{
	return 1000000000ULL;
}

static bool el2_is_memory(phys_addr_t phys)
{
	return phys >= EL2_MEM_BASE && phys - EL2_MEM_BASE < EL2_MEM_SIZE;
}

phys_addr_t el2_pa(const void *va)
{
	const u8 *p = va;

	if (p < el2_mem || p >= el2_mem + EL2_MEM_SIZE) {
		fprintf(stderr, "EL2: __hyp_pa(%p) outside the linear map\n", va);
		abort();
	}
	return EL2_MEM_BASE + (p - el2_mem);
}

void *el2_va(phys_addr_t pa)
{
	if (!el2_is_memory(pa)) {
		fprintf(stderr, "EL2: __hyp_va(%#llx) outside the linear map\n",
			(unsigned long long)pa);
		abort();
	}
	return el2_mem + (pa - EL2_MEM_BASE);
}

void *el2_host_va(phys_addr_t pa)
{
	return el2_va(pa);
}

void el2_flush_dcache_to_poc(void *addr, size_t size)
{
	el2_pa(addr);
	el2_pa((u8 *)addr + size - 1);
	__atomic_fetch_add(&el2_dcache_flush_count, 1, __ATOMIC_RELAXED);
}

struct el2_page *el2_page(phys_addr_t phys)
{
	if (!el2_is_memory(phys))
		return NULL;
	return &el2_pages[(phys - EL2_MEM_BASE) >> PAGE_SHIFT];
}

/*
 * kvm_pgtable's CPU TLB maintenance, counted: the IOMMU code must never need
 * it for its own domains. A guest's stage-2 needs it, and then the SMMUs
 * that walk it are invalidated as nvhe/tlb.c does (patch 0017).
 */
void __kvm_tlb_flush_vmid_ipa(struct kvm_s2_mmu *mmu, phys_addr_t ipa, int level)
{
	__atomic_fetch_add(&el2_cpu_tlbi_count, 1, __ATOMIC_RELAXED);
	pkvm_iommu_s2_flush_ipa(mmu, ipa, level);
}

void __kvm_tlb_flush_vmid_ipa_nsh(struct kvm_s2_mmu *mmu, phys_addr_t ipa, int level)
{
	__atomic_fetch_add(&el2_cpu_tlbi_count, 1, __ATOMIC_RELAXED);
}

void __kvm_tlb_flush_vmid(struct kvm_s2_mmu *mmu)
{
	__atomic_fetch_add(&el2_cpu_tlbi_count, 1, __ATOMIC_RELAXED);
	pkvm_iommu_s2_flush_vmid(mmu);
}

void __kvm_tlb_flush_vmid_range(struct kvm_s2_mmu *mmu, phys_addr_t start,
				unsigned long pages)
{
	__atomic_fetch_add(&el2_cpu_tlbi_count, 1, __ATOMIC_RELAXED);
	pkvm_iommu_s2_flush_range(mmu, start, pages);
}

void el2_report(u64 *counter, const char *fmt, ...)
{
	static u64 reported;
	char buf[256];
	va_list ap;

	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	if (__atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# cpu %u: %s\n", el2_this_cpu(), buf);
	fflush(stdout);
}

u64 el2_rand(u64 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

void el2_stress_args(int argc, char **argv, u64 *ops, u64 *seed, unsigned int *seconds,
		     unsigned int max_seconds)
{
	if (argc > 1)
		*ops = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		*seed = strtoull(argv[2], NULL, 0);
	if (argc > 3)
		*seconds = strtoul(argv[3], NULL, 0);
	*seconds = min(*seconds, max_seconds);
}

bool el2_past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* nvhe/pkvm.c's VM table, by handle from EL2_VM_HANDLE_OFFSET. */
static struct pkvm_hyp_vm *el2_vms[EL2_MAX_VMS];
static DEFINE_HYP_SPINLOCK(el2_vm_table_lock);

int el2_vm_insert(struct pkvm_hyp_vm *vm)
{
	unsigned int idx = vm->kvm.arch.pkvm.handle - EL2_VM_HANDLE_OFFSET;
	int ret = -EINVAL;

	hyp_spin_lock(&el2_vm_table_lock);
	if (idx < EL2_MAX_VMS && !el2_vms[idx]) {
		el2_vms[idx] = vm;
		ret = 0;
	}
	hyp_spin_unlock(&el2_vm_table_lock);
	return ret;
}

void el2_vm_remove(unsigned int handle)
{
	unsigned int idx = handle - EL2_VM_HANDLE_OFFSET;

	hyp_spin_lock(&el2_vm_table_lock);
	if (idx < EL2_MAX_VMS)
		el2_vms[idx] = NULL;
	hyp_spin_unlock(&el2_vm_table_lock);
}

struct pkvm_hyp_vm *get_pkvm_hyp_vm(pkvm_handle_t handle)
{
	unsigned int idx = handle - EL2_VM_HANDLE_OFFSET;
	struct pkvm_hyp_vm *vm = NULL;

	hyp_spin_lock(&el2_vm_table_lock);
	if (idx < EL2_MAX_VMS)
		vm = el2_vms[idx];
	if (vm)
		vm->refcount++;
	hyp_spin_unlock(&el2_vm_table_lock);
	return vm;
}

void put_pkvm_hyp_vm(struct pkvm_hyp_vm *vm)
{
	hyp_spin_lock(&el2_vm_table_lock);
	vm->refcount--;
	hyp_spin_unlock(&el2_vm_table_lock);
}

/* __pkvm_start_teardown_vm(), with patch 0017. */
int el2_vm_start_teardown(pkvm_handle_t handle)
{
	unsigned int idx = handle - EL2_VM_HANDLE_OFFSET;
	struct pkvm_hyp_vm *vm = NULL;
	int ret = -EINVAL;

	hyp_spin_lock(&el2_vm_table_lock);
	if (idx < EL2_MAX_VMS)
		vm = el2_vms[idx];
	if (!vm || vm->refcount || vm->kvm.arch.pkvm.is_dying)
		goto unlock;
	pkvm_guest_mmio_revoke(vm);
	ret = pkvm_iommu_teardown_vm(vm);
	if (!ret) {
		pkvm_pci_release_vm(handle);
		pkvm_guest_mmio_reclaim(vm);
		vm->kvm.arch.pkvm.is_dying = true;
	}
unlock:
	hyp_spin_unlock(&el2_vm_table_lock);
	return ret;
}

/* mem_protect.c: pfn_range_is_valid(). */
static bool pfn_range_is_valid(u64 pfn, u64 nr_pages)
{
	u64 limit = BIT(EL2_PA_BITS - PAGE_SHIFT);

	return pfn < limit && ((limit - pfn) >= nr_pages);
}

/* mem_protect.c: addr_is_memory(). */
bool addr_is_memory(phys_addr_t phys)
{
	return el2_is_memory(phys);
}

/*
 * mem_protect.c: check_range_allowed_memory(). One region of memory here,
 * and the rest MMIO: a range must not straddle the boundary (-EINVAL),
 * and must be memory (-EPERM).
 */
static int check_range_allowed_memory(u64 start, u64 end)
{
	bool first = el2_is_memory(start), last = el2_is_memory(end - 1);

	if (first != last || (!first && start < EL2_MEM_BASE &&
			      end - 1 >= EL2_MEM_BASE + EL2_MEM_SIZE))
		return -EINVAL;
	return first ? 0 : -EPERM;
}

static int host_check_range(u64 addr, u64 size, enum el2_state state)
{
	int ret = check_range_allowed_memory(addr, addr + size);
	u64 a;

	if (ret)
		return ret;
	hyp_assert_lock_held(&el2_host_lock);
	for (a = addr; a < addr + size; a += PAGE_SIZE)
		if (el2_page(a)->host != state)
			return -EPERM;
	return 0;
}

static int hyp_check_range(u64 addr, u64 size, enum el2_state state)
{
	u64 a;

	for (a = addr; a < addr + size; a += PAGE_SIZE)
		if (el2_page(a)->hyp != state)
			return -EPERM;
	return 0;
}

int __pkvm_host_donate_hyp(u64 pfn, u64 nr_pages)
{
	u64 phys = hyp_pfn_to_phys(pfn), size = PAGE_SIZE * nr_pages, a;
	int ret;

	if (!pfn_range_is_valid(pfn, nr_pages))
		return -EINVAL;
	hyp_spin_lock(&el2_host_lock);
	hyp_spin_lock(&el2_hyp_lock);
	ret = host_check_range(phys, size, EL2_OWNED);
	if (ret)
		goto unlock;
	ret = hyp_check_range(phys, size, EL2_NOPAGE);
	if (ret)
		goto unlock;
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		el2_page(a)->hyp = EL2_OWNED;
		el2_page(a)->host = EL2_NOPAGE;
	}
	/* host_stage2_set_owner_metadata_locked(): no device reaches them. */
	pkvm_iommu_host_lost(phys, size);
unlock:
	hyp_spin_unlock(&el2_hyp_lock);
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

int __pkvm_hyp_donate_host(u64 pfn, u64 nr_pages)
{
	u64 phys = hyp_pfn_to_phys(pfn), size = PAGE_SIZE * nr_pages, a;
	int ret;

	if (!pfn_range_is_valid(pfn, nr_pages))
		return -EINVAL;
	hyp_spin_lock(&el2_host_lock);
	hyp_spin_lock(&el2_hyp_lock);
	/* EL2 walks the vmemmap of memory only: outside it, a hyp fault. */
	if (check_range_allowed_memory(phys, phys + size))
		el2_unmodelled("__pkvm_hyp_donate_host() of non-memory");
	ret = hyp_check_range(phys, size, EL2_OWNED);
	if (ret)
		goto unlock;
	ret = host_check_range(phys, size, EL2_NOPAGE);
	if (ret)
		goto unlock;
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		if (el2_page(a)->refcount) {
			ret = -EBUSY;
			goto unlock;
		}
	}
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		el2_page(a)->hyp = EL2_NOPAGE;
		el2_page(a)->host = EL2_OWNED;
	}
	pkvm_iommu_host_gained(phys, size);
unlock:
	hyp_spin_unlock(&el2_hyp_lock);
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

int __pkvm_host_donate_hyp_mmio(u64 pfn, u64 nr_pages)
{
	u64 phys = hyp_pfn_to_phys(pfn), size = PAGE_SIZE * nr_pages;
	unsigned int i;
	int ret;

	if (!nr_pages || !pfn_range_is_valid(pfn, nr_pages))
		return -EINVAL;
	hyp_spin_lock(&el2_host_lock);
	ret = -ENOSPC;
	if (el2_mmio_nr == EL2_HYP_MMIO_MAX)
		goto unlock;
	ret = -EPERM;
	for (i = 0; i < nr_pages; i++)
		if (el2_is_memory(phys + i * PAGE_SIZE))
			goto unlock;
	for (i = 0; i < el2_mmio_nr; i++)
		if (el2_mmio[i].start < phys + size && phys < el2_mmio[i].end)
			goto unlock;
	el2_mmio[el2_mmio_nr].start = phys;
	el2_mmio[el2_mmio_nr].end = phys + size;
	el2_mmio[el2_mmio_nr].handle = 0;
	el2_mmio_nr++;
	ret = 0;
unlock:
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

/* Does [start, end) overlap a frame the hypervisor or a protected VM took? */
bool el2_mmio_hyp_owned(u64 start, u64 end)
{
	unsigned int i;

	for (i = 0; i < el2_mmio_nr; i++)
		if (el2_mmio[i].start < end && start < el2_mmio[i].end)
			return true;
	return false;
}

/*
 * mem_protect.c: host_check_shareable_mmio_locked(). The MMIO range below
 * memory and the one above it; the host stage-2 walk fails beyond its input
 * size; the frames the hypervisor took are annotated.
 */
static int host_check_shareable_mmio_locked(u64 start, u64 end)
{
	hyp_assert_lock_held(&el2_host_lock);
	if ((start < EL2_MEM_BASE) != (end - 1 < EL2_MEM_BASE) || el2_is_memory(end - 1))
		return -EINVAL;
	if (end > BIT_ULL(EL2_PA_BITS))
		return -ERANGE;
	return el2_mmio_hyp_owned(start, end) ? -EPERM : 0;
}

/*
 * mem_protect.c: pkvm_host_donate_guest_mmio(), its host side only: the
 * frames are annotated as the VM's. The VM's stage-2 mapping is not
 * modelled (the boot test pvm-smmu-walk has the VM drive the device).
 */
int pkvm_host_donate_guest_mmio(struct pkvm_hyp_vm *vm, u64 phys, u64 ipa,
				u64 size, struct kvm_hyp_memcache *mc)
{
	int ret;

	hyp_spin_lock(&el2_host_lock);
	ret = host_check_shareable_mmio_locked(phys, phys + size);
	if (!ret && el2_mmio_borrowed)
		ret = -EBUSY;
	if (!ret && el2_mmio_nr == EL2_HYP_MMIO_MAX)
		ret = -ENOSPC;
	if (!ret) {
		el2_mmio[el2_mmio_nr].start = phys;
		el2_mmio[el2_mmio_nr].end = phys + size;
		el2_mmio[el2_mmio_nr].handle = vm->kvm.arch.pkvm.handle;
		el2_mmio_nr++;
	}
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

/* mem_protect.c: pkvm_guest_mmio_revoke(); the VM's mapping is not modelled. */
void pkvm_guest_mmio_revoke(struct pkvm_hyp_vm *vm)
{
}

/* mem_protect.c: pkvm_guest_mmio_reclaim(). */
void pkvm_guest_mmio_reclaim(struct pkvm_hyp_vm *vm)
{
	unsigned int i = 0;

	hyp_spin_lock(&el2_host_lock);
	while (i < el2_mmio_nr) {
		if (el2_mmio[i].handle == vm->kvm.arch.pkvm.handle)
			el2_mmio[i] = el2_mmio[--el2_mmio_nr];
		else
			i++;
	}
	hyp_spin_unlock(&el2_host_lock);
}

int __pkvm_host_share_dma(u64 phys, u64 size)
{
	struct el2_page *p;
	u64 a;
	int ret;

	/* Host device MMIO: checked and counted, once pKVM has finalised. */
	if (!el2_is_memory(phys)) {
		if (!kvm_protected_mode_initialized.enabled)
			return -EPERM;
		hyp_spin_lock(&el2_host_lock);
		ret = host_check_shareable_mmio_locked(phys, phys + size);
		if (!ret)
			el2_mmio_borrowed += size >> PAGE_SHIFT;
		hyp_spin_unlock(&el2_host_lock);
		return ret;
	}

	ret = check_range_allowed_memory(phys, phys + size);
	if (ret)
		return ret;
	hyp_spin_lock(&el2_host_lock);
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		p = el2_page(a);
		if (p->host == EL2_OWNED)
			continue;
		if (p->host == EL2_SHARED_OWNED && p->share_dma_count &&
		    p->share_dma_count != U32_MAX)
			continue;
		ret = -EPERM;
		goto unlock;
	}
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		p = el2_page(a);
		p->host = EL2_SHARED_OWNED;
		p->share_dma_count++;
	}
unlock:
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

void __pkvm_host_unshare_dma(u64 phys, u64 size)
{
	struct el2_page *p;
	u64 a;

	hyp_spin_lock(&el2_host_lock);
	if (!el2_is_memory(phys)) {
		if (!WARN_ON(el2_mmio_borrowed < size >> PAGE_SHIFT))
			el2_mmio_borrowed -= size >> PAGE_SHIFT;
		hyp_spin_unlock(&el2_host_lock);
		return;
	}
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		p = el2_page(a);
		if (WARN_ON(!p || p->host != EL2_SHARED_OWNED || !p->share_dma_count))
			continue;
		if (!--p->share_dma_count)
			p->host = EL2_OWNED;
	}
	hyp_spin_unlock(&el2_host_lock);
}

void pkvm_host_walk_inaccessible(void (*fn)(u64 start, u64 end, void *arg),
				 void (*publish)(void *arg), void *arg)
{
	u64 addr, end = EL2_MEM_BASE + EL2_MEM_SIZE, run = end;
	unsigned int i;
	bool access;

	hyp_spin_lock(&el2_host_lock);
	/* mem_protect.c names a nomap region whole, wherever it starts and ends. */
	for (i = 0; i < hyp_memblock_nr; i++)
		if (hyp_memory[i].flags & MEMBLOCK_NOMAP)
			fn(hyp_memory[i].base, hyp_memory[i].base + hyp_memory[i].size, arg);
	for (addr = EL2_MEM_BASE; addr < end; addr += PAGE_SIZE) {
		access = el2_page(addr)->host != EL2_NOPAGE;
		if (!access && run == end)
			run = addr;
		if (access && run != end) {
			fn(run, addr, arg);
			run = end;
		}
	}
	if (run != end)
		fn(run, end, arg);
	publish(arg);
	hyp_spin_unlock(&el2_host_lock);
}

/* nvhe/mm.c: admit_host_page() and refill_memcache(), as patch 0013 makes it. */
static void *admit_host_page(void *arg)
{
	struct kvm_hyp_memcache *host_mc = arg;

	if (!host_mc->nr_pages)
		return NULL;
	if (__pkvm_host_donate_hyp(hyp_phys_to_pfn(host_mc->head), 1))
		return NULL;
	return pop_hyp_memcache(host_mc, hyp_phys_to_virt);
}

#define REFILL_BATCH	32

int refill_memcache(struct kvm_hyp_memcache *mc, unsigned long min_pages,
		    struct kvm_hyp_memcache *host_mc)
{
	struct kvm_hyp_memcache tmp = *host_mc;
	void *batch[REFILL_BATCH];
	unsigned int i, n;
	int ret = 0;

	while (!ret && mc->nr_pages < min_pages) {
		pkvm_iommu_host_lost_batch_begin();
		for (n = 0; n < REFILL_BATCH && mc->nr_pages + n < min_pages; n++) {
			batch[n] = admit_host_page(&tmp);
			if (!batch[n]) {
				ret = -ENOMEM;
				break;
			}
		}
		pkvm_iommu_host_lost_batch_end();
		for (i = 0; i < n; i++)
			push_hyp_memcache(mc, batch[i], hyp_virt_to_phys);
	}
	*host_mc = tmp;
	return ret;
}

/*
 * Only device mappings of frames the hypervisor was given; the VA is the
 * model's fake frame, whose accesses go to the model (smmu_model.c).
 */
void *smmu_model_frame(phys_addr_t phys, size_t size);

int __pkvm_create_private_mapping(phys_addr_t phys, size_t size,
				  enum kvm_pgtable_prot prot,
				  unsigned long *haddr)
{
	unsigned int i;
	void *va;

	if (prot != PAGE_HYP_DEVICE)
		el2_unmodelled("a private mapping of memory");
	/* pci_cfg.c maps an ECAM window before it takes it from the host. */
	va = el2_ecam_frame(phys, size);
	if (va) {
		*haddr = (unsigned long)va;
		return 0;
	}
	for (i = 0; i < el2_mmio_nr; i++)
		if (el2_mmio[i].start <= phys && phys + size <= el2_mmio[i].end)
			break;
	if (i == el2_mmio_nr)
		el2_unmodelled("a device mapping of a frame the host still owns");
	va = smmu_model_frame(phys, size);
	if (!va)
		return -ENOMEM;
	*haddr = (unsigned long)va;
	return 0;
}

/* One page of VA that nothing maps; el2_read_fixup() aborts on it. */
u8 el2_unmapped_va[PAGE_SIZE];

int pkvm_alloc_private_va_range(size_t size, unsigned long *haddr)
{
	if (size > sizeof(el2_unmapped_va))
		el2_unmodelled("more than a page of private VA");
	*haddr = (unsigned long)el2_unmapped_va;
	return 0;
}

void el2_init(unsigned int nr_cpus)
{
	u64 i;

	el2_mem = aligned_alloc(PAGE_SIZE, EL2_MEM_SIZE);
	if (!el2_mem)
		abort();
	/* The host's pages hold whatever it left there. */
	memset(el2_mem, 0x5a, EL2_MEM_SIZE);
	for (i = 0; i < EL2_MEM_PAGES; i++)
		el2_pages[i] = (struct el2_page){ .host = EL2_OWNED, .hyp = EL2_NOPAGE };
	hyp_memory[0].base = EL2_MEM_BASE;
	hyp_memory[0].size = EL2_MEM_SIZE;
	hyp_memblock_nr = 1;
	hyp_nr_cpus = nr_cpus;
	/* PARange 48 bits, 16-bit VMIDs, like QEMU's -cpu max. */
	id_aa64mmfr0_el1_sys_val = 5ULL << ID_AA64MMFR0_EL1_PARANGE_SHIFT;
	id_aa64mmfr1_el1_sys_val = 2ULL << ID_AA64MMFR1_EL1_VMIDBits_SHIFT;
	el2_cpucaps[ARM64_HAS_STAGE2_FWB / 64] |= 1ULL << (ARM64_HAS_STAGE2_FWB % 64);
	el2_cpucaps[ARM64_HAS_TLB_RANGE / 64] |= 1ULL << (ARM64_HAS_TLB_RANGE % 64);
	el2_protected_mode = true;
}

struct el2_page el2_page_get(phys_addr_t phys)
{
	struct el2_page p;

	if (!el2_is_memory(phys))
		el2_unmodelled("the page state of non-memory");
	hyp_spin_lock(&el2_host_lock);
	hyp_spin_lock(&el2_hyp_lock);
	p = *el2_page(phys);
	hyp_spin_unlock(&el2_hyp_lock);
	hyp_spin_unlock(&el2_host_lock);
	return p;
}

/* The host kernel's allocator: its own bookkeeping, under the host lock too. */
phys_addr_t el2_host_alloc(u64 nr_pages, u64 align_pages)
{
	phys_addr_t ret = 0;
	u64 i, j;

	hyp_spin_lock(&el2_host_lock);
	for (i = 0; i + nr_pages <= EL2_MEM_PAGES; i += align_pages) {
		for (j = 0; j < nr_pages; j++)
			if (el2_host_used[i + j] || el2_pages[i + j].host != EL2_OWNED)
				break;
		if (j < nr_pages)
			continue;
		for (j = 0; j < nr_pages; j++)
			el2_host_used[i + j] = true;
		ret = EL2_MEM_BASE + (i << PAGE_SHIFT);
		break;
	}
	hyp_spin_unlock(&el2_host_lock);
	return ret;
}

void el2_host_free(phys_addr_t phys, u64 nr_pages)
{
	u64 i = (phys - EL2_MEM_BASE) >> PAGE_SHIFT;

	hyp_spin_lock(&el2_host_lock);
	while (nr_pages--)
		el2_host_used[i++] = false;
	hyp_spin_unlock(&el2_host_lock);
}

u64 el2_count_state(enum el2_state host, enum el2_state hyp)
{
	u64 i, n = 0;

	hyp_spin_lock(&el2_host_lock);
	hyp_spin_lock(&el2_hyp_lock);
	for (i = 0; i < EL2_MEM_PAGES; i++)
		n += el2_pages[i].host == host && el2_pages[i].hyp == hyp;
	hyp_spin_unlock(&el2_hyp_lock);
	hyp_spin_unlock(&el2_host_lock);
	return n;
}

/*
 * Register the SMMU at @mmio as the host driver does: ask how many pages it
 * needs, then give exactly those. -ENOMEM if the host has no such block.
 */
/* Memory beyond the harness's, described but never touched (nothing backs it). */
void el2_memory_describe(u64 base, u64 size)
{
	if (hyp_memblock_nr == HYP_MEMBLOCK_REGIONS ||
	    base < hyp_memory[hyp_memblock_nr - 1].base + hyp_memory[hyp_memblock_nr - 1].size)
		abort();
	hyp_memory[hyp_memblock_nr].base = base;
	hyp_memory[hyp_memblock_nr++].size = size;
}

/*
 * Split the memory region holding [at, at + len) in three, as
 * memblock_mark_nomap() does for an ACPI table the kernel installs from its
 * initrd: the middle part need not start or end on a page.
 */
void el2_memory_split(u64 at, u64 len, unsigned long flags)
{
	unsigned int i, n = hyp_memblock_nr;

	for (i = 0; i < n; i++)
		if (hyp_memory[i].base < at &&
		    at + len < hyp_memory[i].base + hyp_memory[i].size)
			break;
	if (i == n || n + 2 > HYP_MEMBLOCK_REGIONS)
		abort();
	memmove(&hyp_memory[i + 3], &hyp_memory[i + 1], (n - i - 1) * sizeof(hyp_memory[0]));
	hyp_memory[i + 2].base = at + len;
	hyp_memory[i + 2].size = hyp_memory[i].base + hyp_memory[i].size - (at + len);
	hyp_memory[i + 1].base = at;
	hyp_memory[i + 1].size = len;
	hyp_memory[i + 1].flags = flags;
	hyp_memory[i + 2].flags = hyp_memory[i].flags;
	hyp_memory[i].size = at - hyp_memory[i].base;
	hyp_memblock_nr = n + 2;
}

void el2_memory_forget_last(void)
{
	if (hyp_memblock_nr > 1)
		hyp_memblock_nr--;
}

int el2_host_register_smmu(phys_addr_t mmio)
{
	u64 needed, pages;
	phys_addr_t base;
	int ret;

	ret = __pkvm_smmu_register(mmio, PKVM_SMMU_MMIO_SIZE, 0, 0, &needed);
	if (ret != -ENOMEM)
		return ret;
	base = el2_host_alloc(needed, 16);
	if (!base)
		return -ENOMEM;
	return __pkvm_smmu_register(mmio, PKVM_SMMU_MMIO_SIZE, base >> PAGE_SHIFT, needed,
				    &pages);
}
