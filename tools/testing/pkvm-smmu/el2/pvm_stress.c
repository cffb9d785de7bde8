// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of device assignment to protected VMs (iommu.c's
 * __pkvm_iommu_assign_pvm(), pkvm_iommu_s2_flush_*() and
 * pkvm_iommu_teardown_vm(), with the kernel's kvm_pgtable), built with
 * ThreadSanitizer. Each round creates a protected VM (el2/pvm.c); MAPPERS
 * threads, each one CPU, map and unmap pages of their own IPA window in the
 * VM's stage-2 (under the VM's lock and with a reference to it, as pKVM
 * does) and DMA at them through every assigned stream, while one more
 * thread assigns a stream of each SMMU to the VM at a random moment: the
 * race the ordering of docs/pvm-device-assignment.md section 4 is about
 * (binding and array published before the STE, read after the descriptor
 * write). Then the VM is torn down and the next round begins. All along, one
 * more CPU plays the host calling the TLB maintenance hypercalls with the
 * current VM's MMU and no reference to the VM, across its teardown and the
 * reuse of its domain's page: ThreadSanitizer sees any use after free. Odd
 * rounds read the invalidation arrays under the benchmark's lock
 * (__pkvm_iommu_bench_knob()), which a flush holds in the domain's page
 * across its SMMU commands.
 *
 * Oracles, each checked by the thread that owns what is checked:
 *  - once an unmap of the VM's stage-2 returned, no SMMU model holds a TLB
 *    entry for an unmapped IPA of the window under a VMID a valid STE
 *    uses (smmu_model_tlb_live()): the flush hook missed an SMMU;
 *  - a DMA at an IPA of the window faults, or reaches exactly the page the
 *    owner mapped there;
 *  - the assignment and the teardown return 0; after the teardown no STE
 *    is valid and no TLB entry is live, and the next round's assignment
 *    of the same streams works.
 *
 * Usage: el2-pvm-stress [rounds] [seed] [seconds]
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/pkvm.h>
#include <nvhe/smmu_v3.h>

#include "el2.h"
#include "../tap.h"

#define MAPPERS		3
#define NR_CPUS_USED	(MAPPERS + 1)
#define FLUSHER_CPU	NR_CPUS_USED	/* one more: the host's flushes */
#define NR_SMMUS	2
#define PAGES		16	/* per mapper */
/* Every mapper's window in one level-3 table, which comes and goes. */
#define IPA_BASE	0x40000000ULL
#define OPS_PER_ROUND	400
#define POOL_PAGES	64
#define JITTER		4
#define HANDLE		EL2_VM_HANDLE_OFFSET

static const phys_addr_t ps_mmio[NR_SMMUS] = { 0x09050000, 0x09070000 };
static const u32 ps_sid[NR_SMMUS] = { 0x31, 0x131 };
static struct smmu_model *ps_models[NR_SMMUS];
static int ps_idx[NR_SMMUS];
static struct pkvm_hyp_vm *ps_vm;
/* The current VM's MMU, for the host's flushes; only compared at EL2. */
static struct kvm_s2_mmu *ps_vm_mmu;
static bool ps_done;
static u64 ps_host_flushes;
static u64 ps_rounds = 50, ps_seed = 1;
static unsigned int ps_seconds = 10;
static struct timespec ps_deadline;

struct ps_thread {
	pthread_t	thread;
	unsigned int	cpu;
	u64		rnd;
	phys_addr_t	phys;		/* PAGES guest pages, donated */
	bool		mapped[PAGES];
	u64		unmaps, dmas_ok;
};

static struct ps_thread ps[NR_CPUS_USED];
static u64 ps_stale, ps_wrong, ps_calls;

#define ps_fail			el2_report
#define ps_rand(t)		el2_rand(&(t)->rnd)

static u64 ps_ipa(unsigned int cpu, unsigned int i)
{
	return IPA_BASE + ((u64)(cpu * PAGES + i) << PAGE_SHIFT);
}

/* The host's top-up, from a pool of its own pages (one CPU at a time). */
static pthread_mutex_t ps_pool_lock = PTHREAD_MUTEX_INITIALIZER;

static u64 ps_topup(u64 nr)
{
	phys_addr_t head = 0, page;
	u64 i, taken = 0;

	pthread_mutex_lock(&ps_pool_lock);
	for (i = 0; i < nr; i++) {
		page = el2_host_alloc(1, 1);
		if (!page)
			break;
		*(phys_addr_t *)el2_host_va(page) = head;
		head = page;
	}
	if (i && __pkvm_iommu_topup(head, i, &taken))
		taken = 0;
	pthread_mutex_unlock(&ps_pool_lock);
	return taken;
}


/* The unmap oracle for IPA @ipa, which this thread just unmapped. */
static void ps_check_unmapped(u64 ipa)
{
	phys_addr_t pa;
	unsigned int s;
	u16 vmid;
	u32 sid;

	for (s = 0; s < NR_SMMUS; s++)
		if (smmu_model_tlb_live(ps_models[s], ipa, &vmid, &sid, &pa))
			ps_fail(&ps_stale,
				"SMMU %u: IPA %#llx unmapped, TLB still has it under VMID %u (stream %#x) -> %#llx",
				s, (unsigned long long)ipa, vmid, sid, (unsigned long long)pa);
}

static void ps_dma(struct ps_thread *t, unsigned int i)
{
	unsigned int s = ps_rand(t) % NR_SMMUS;
	u64 ipa = ps_ipa(t->cpu, i) + 8 * (ps_rand(t) % 512);
	phys_addr_t pa, want = t->phys + ((u64)i << PAGE_SHIFT) + (ipa & ~PAGE_MASK);

	if (smmu_model_dma(ps_models[s], ps_sid[s], ipa, ps_rand(t) & 1, &pa))
		return;
	if (!t->mapped[i])
		ps_fail(&ps_wrong, "SMMU %u: DMA at unmapped IPA %#llx reached %#llx", s,
			(unsigned long long)ipa, (unsigned long long)pa);
	else if (pa != want)
		ps_fail(&ps_wrong, "SMMU %u: DMA at IPA %#llx reached %#llx, mapped %#llx", s,
			(unsigned long long)ipa, (unsigned long long)pa,
			(unsigned long long)want);
	else
		t->dmas_ok++;
}

/* As pKVM changes a guest's stage-2: with a reference to the VM. */
static void ps_op(struct ps_thread *t)
{
	unsigned int i = ps_rand(t) % PAGES, n, k;
	struct pkvm_hyp_vm *vm = get_pkvm_hyp_vm(HANDLE);
	int ret;

	if (!vm) {
		ps_fail(&ps_calls, "no VM");
		return;
	}
	switch (ps_rand(t) % 4) {
	case 0:
		if (t->mapped[i])
			break;
		ret = el2_pvm_map(vm, ps_ipa(t->cpu, i), t->phys + ((u64)i << PAGE_SHIFT),
				  PAGE_SIZE);
		if (ret)
			ps_fail(&ps_calls, "map of IPA %#llx: %d",
				(unsigned long long)ps_ipa(t->cpu, i), ret);
		else
			t->mapped[i] = true;
		break;
	case 1:
		/* A run, or the whole window: the shared table may go. */
		n = ps_rand(t) & 1 ? 1 + ps_rand(t) % (PAGES - i) : PAGES - (i = 0);
		ret = el2_pvm_unmap(vm, ps_ipa(t->cpu, i), (u64)n << PAGE_SHIFT);
		if (ret)
			ps_fail(&ps_calls, "unmap of %u pages at IPA %#llx: %d", n,
				(unsigned long long)ps_ipa(t->cpu, i), ret);
		for (k = i; k < i + n; k++) {
			t->mapped[k] = false;
			ps_check_unmapped(ps_ipa(t->cpu, k));
		}
		t->unmaps++;
		break;
	default:
		ps_dma(t, i);
		break;
	}
	put_pkvm_hyp_vm(vm);
}

static void *ps_mapper(void *arg)
{
	struct ps_thread *t = arg;
	unsigned int n;

	el2_set_cpu(t->cpu);
	for (n = 0; n < OPS_PER_ROUND; n++)
		ps_op(t);
	return NULL;
}

/* The assigner: each SMMU's stream, at a random moment of the round. */
static void *ps_assigner(void *arg)
{
	struct ps_thread *t = arg;
	unsigned int s, spin;
	int ret;

	el2_set_cpu(t->cpu);
	for (s = 0; s < NR_SMMUS; s++) {
		for (spin = ps_rand(t) % 20000; spin; spin--)
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
		ret = el2_pvm_give_bar(HANDLE, ps_idx[s], ps_sid[s], ps_topup) ?:
		      el2_pvm_assign(HANDLE, ps_idx[s], ps_sid[s], ps_topup);
		if (ret)
			ps_fail(&ps_calls, "assign of stream %#x of SMMU %u: %d", ps_sid[s],
				s, ret);
	}
	return NULL;
}

/*
 * The host's TLB maintenance hypercalls (__kvm_tlb_flush_vmid*), which it
 * may issue with any MMU at any time: the current VM's, even while it is
 * torn down and its domain freed.
 */
static void *ps_host_flusher(void *arg)
{
	struct kvm_s2_mmu *mmu;
	u64 n = 0;

	el2_set_cpu(FLUSHER_CPU);
	while (!__atomic_load_n(&ps_done, __ATOMIC_ACQUIRE)) {
		mmu = __atomic_load_n(&ps_vm_mmu, __ATOMIC_ACQUIRE);
		if (!mmu)
			continue;
		/* Paced: the CPUs the race is about must get the machine's cores. */
		usleep(20);
		switch (n++ % 3) {
		case 0:
			pkvm_iommu_s2_flush_vmid(mmu);
			break;
		case 1:
			pkvm_iommu_s2_flush_ipa(mmu, IPA_BASE, KVM_PGTABLE_LAST_LEVEL);
			break;
		default:
			pkvm_iommu_s2_flush_range(mmu, IPA_BASE, MAPPERS * PAGES);
			break;
		}
	}
	__atomic_store_n(&ps_host_flushes, n, __ATOMIC_RELAXED);
	return NULL;
}

struct ps_ste_count {
	u32	sid;
	bool	found;
};

static void ps_find_ste(void *arg, u32 sid, const u64 *ste, bool cached)
{
	struct ps_ste_count *c = arg;

	if (sid == c->sid)
		c->found = true;
}

/* The VM goes: nothing of it stays reachable, nothing stays mapped. */
static void ps_teardown(void)
{
	struct ps_ste_count c;
	unsigned int t, s, i;
	phys_addr_t pa;
	u16 vmid;
	u32 sid;

	CHECK_EQ(el2_vm_start_teardown(HANDLE), 0);
	for (s = 0; s < NR_SMMUS; s++) {
		c = (struct ps_ste_count){ .sid = ps_sid[s] };
		smmu_model_visit_stes(ps_models[s], ps_find_ste, &c);
		CHECK(!c.found);
		for (t = 0; t < MAPPERS; t++)
			for (i = 0; i < PAGES; i++)
				CHECK(!smmu_model_tlb_live(ps_models[s], ps_ipa(t, i), &vmid,
							   &sid, &pa));
	}
	for (t = 0; t < MAPPERS; t++) {
		CHECK_EQ(el2_pvm_unmap(ps_vm, ps_ipa(t, 0), PAGES * PAGE_SIZE), 0);
		memset(ps[t].mapped, 0, sizeof(ps[t].mapped));
	}
	/* The host may go on naming the dead VM's MMU: only compared. */
	el2_pvm_destroy(ps_vm);
	ps_vm = NULL;
}

static void test_setup(void)
{
	unsigned int s, t;

	phys_addr_t hyp_page;
	unsigned int v, i;

	for (s = 0; s < NR_SMMUS; s++) {
		/* SMMU 1 without range invalidation: page by page, or the VMID. */
		ps_models[s] = smmu_model_create(ps_mmio[s], s == 0);
		ps_idx[s] = el2_host_register_smmu(ps_mmio[s]);
		CHECK(ps_idx[s] >= 0);
		/* Its device, with a BAR the VM must hold before the stream. */
		CHECK_EQ(el2_pci_add_port(24 + s), 0);
		CHECK_EQ(el2_pci_add_fn(24 + s, 0, false, ps_idx[s], ps_sid[s],
					0x10a00000 + s * SZ_1M, PAGE_SIZE), 0);
	}
	/*
	 * A previous user left translations of every window under the first
	 * VMIDs, to a page of the hypervisor's: an assignment that takes such
	 * a VMID must invalidate it first.
	 */
	for (hyp_page = EL2_MEM_BASE; el2_page_get(hyp_page).hyp != EL2_OWNED;)
		hyp_page += PAGE_SIZE;
	for (s = 0; s < NR_SMMUS; s++) {
		for (v = 1; v <= 2; v++)
			for (t = 0; t < MAPPERS; t++)
				for (i = 0; i < PAGES; i++)
					smmu_model_tlb_plant(ps_models[s], v, ps_ipa(t, i),
							     hyp_page);
		smmu_model_set_jitter(ps_models[s], JITTER);
	}
	/* pKVM finalises: the host is not trusted. */
	kvm_protected_mode_initialized.enabled = true;
	for (t = 0; t < NR_CPUS_USED; t++) {
		ps[t].cpu = t;
		ps[t].rnd = ps_seed * 0x9e3779b97f4a7c15ULL + t + 1;
		if (t < MAPPERS)
			ps[t].phys = el2_pvm_donate(PAGES, 1);
	}
}

static void test_rounds(void)
{
	u64 round, unmaps = 0, dmas = 0;
	pthread_t flusher;
	unsigned int t;

	clock_gettime(CLOCK_MONOTONIC, &ps_deadline);
	ps_deadline.tv_sec += ps_seconds;
	CHECK_EQ(pthread_create(&flusher, NULL, ps_host_flusher, NULL), 0);
	for (round = 0; round < ps_rounds && !el2_past(&ps_deadline); round++) {
		el2_set_cpu(0);
		CHECK_EQ(__pkvm_iommu_bench_knob(PKVM_IOMMU_BENCH_LOCKED_INVS, round & 1), 0);
		ps_vm = el2_pvm_create(HANDLE, true, KVM_PGTABLE_S2_NOFWB);
		CHECK(ps_vm);
		if (!ps_vm)
			break;
		__atomic_store_n(&ps_vm_mmu, &ps_vm->kvm.arch.mmu, __ATOMIC_RELEASE);
		for (t = 0; t < NR_CPUS_USED; t++)
			CHECK_EQ(pthread_create(&ps[t].thread, NULL,
						t < MAPPERS ? ps_mapper : ps_assigner, &ps[t]), 0);
		for (t = 0; t < NR_CPUS_USED; t++)
			CHECK_EQ(pthread_join(ps[t].thread, NULL), 0);
		el2_set_cpu(0);
		ps_teardown();
	}
	__atomic_store_n(&ps_done, true, __ATOMIC_RELEASE);
	CHECK_EQ(pthread_join(flusher, NULL), 0);
	el2_set_cpu(0);
	for (t = 0; t < MAPPERS; t++) {
		unmaps += ps[t].unmaps;
		dmas += ps[t].dmas_ok;
	}
	printf("# %llu rounds: %llu unmaps, %llu DMAs translated, %llu host flushes\n",
	       (unsigned long long)round, (unsigned long long)unmaps,
	       (unsigned long long)dmas, (unsigned long long)ps_host_flushes);
	/* Each round assigned both streams while DMAs ran: some went through. */
	CHECK(round > 0 && dmas > 0);
	CHECK_EQ(ps_calls, 0);
}

static void test_no_missed_invalidation(void)
{
	CHECK_EQ(ps_stale, 0);
}

static void test_dma_reaches_mapped_page(void)
{
	CHECK_EQ(ps_wrong, 0);
}

int main(int argc, char **argv)
{
	/* The rounds are one test: they must end well within its watchdog. */
	el2_stress_args(argc, argv, &ps_rounds, &ps_seed, &ps_seconds, TAP_TIMEOUT - 15U);
	el2_init(NR_CPUS_USED + 1);
	el2_set_cpu(0);
	tap_plan(4);
	tap_run("el2_pvm_stress_setup", test_setup);
	tap_run("el2_pvm_stress_rounds", test_rounds);
	tap_run("el2_pvm_stress_no_missed_invalidation", test_no_missed_invalidation);
	tap_run("el2_pvm_stress_dma", test_dma_reaches_mapped_page);
	return tap_exit();
}
