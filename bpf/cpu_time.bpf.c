// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Measures the CPU time of each task, charged at sched_switch to its process (tgid + start
 * time) and its cgroup v2 id: the growth of the task's se.sum_exec_runtime, the kernel's own
 * counter behind cgroup cpu.stat and /proc. The idle task gets the wall time it held the CPU
 * (bpf_ktime_get_ns, less interrupts where the kernel accounts them), so node busy time =
 * elapsed − idle includes interrupts and scheduling, which no process is charged for. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cpu_time.h"

#define EEXIST 17 /* vmlinux.h carries no errno values */

/* Every event has one handler, called by two thin programs: tp_btf (5.5+, BTF-typed arguments
 * that can be read with plain loads) and raw_tp (older kernels, or where tp_btf does not load:
 * untyped arguments, read through CO-RE probe reads). A handler reads kernel fields only with
 * KREAD(typed, pointer, field path…): `typed` is a constant in each program, so the other
 * branch is compiled away, and the two programs cannot drift apart. */
#define KREAD_PATH_1(a) a
#define KREAD_PATH_2(a, b) a->b
#define KREAD_PATH_3(a, b, c) a->b->c
#define KREAD_PATH_4(a, b, c, d) a->b->c->d
#define KREAD_PATH_5(a, b, c, d, e) a->b->c->d->e
#define KREAD_PICK(_1, _2, _3, _4, _5, name, ...) name
#define KREAD_PATH(...)                                                                         \
  KREAD_PICK(__VA_ARGS__, KREAD_PATH_5, KREAD_PATH_4, KREAD_PATH_3, KREAD_PATH_2, KREAD_PATH_1) \
  (__VA_ARGS__)
#define KREAD(typed, ...) ((typed) ? KREAD_PATH(__VA_ARGS__) : BPF_CORE_READ(__VA_ARGS__))

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sizes below are defaults; user space resizes them with bpf_map__set_max_entries before load. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_time_cpu_state);
} cpu_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, CPU_TIME_DROP_KINDS);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

/* Set by user space before load (also the size of processes and free_slots). */
const volatile __u32 max_processes = CPU_TIME_DEFAULT_MAX_PROCESSES;

/* Each process's metadata and counter slot. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_PROCESSES);
  __type(key, struct cpu_time_process_key);
  __type(value, struct cpu_time_process_meta);
} processes SEC(".maps");

/* CPU c's time for slot s at c * max_processes + s; user space sizes it to max_processes times
 * the possible CPUs and reads it through mmap (see cpu_time.h). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_PROCESSES);
  __type(key, __u32);
  __type(value, __u64);
} process_cpu_ns SEC(".maps");

/* Slots user space gave back (their counters zeroed), taken before fresh ones. */
struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_PROCESSES);
  __type(value, __u32);
} free_slots SEC(".maps");

/* Exiting threads (PF_EXITING) by task address: the runtime already charged to each. In do_exit
 * the autogroup exit re-picks the task, resetting prev_sum_exec_runtime, so a switch-in not
 * seen after that could not be placed; this keeps the answer until the task's last switch.
 * LRU: an entry whose last switch was not seen either is evicted in time. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u64);
} exiting_charged SEC(".maps");

/* The runtime each task was last charged, wherever it ran: where a slice whose switch-in was
 * not seen begins. The scheduler re-picks a running task without a switch when its affinity
 * changes (__do_set_cpus_allowed(): put_prev_task() + set_next_task()), which resets
 * prev_sum_exec_runtime mid-slice; a task migrated by the stopper thread sometimes appears on
 * its new CPU unseen, and its next move is such an affinity change. A direct-mapped table indexed
 * by a hash of the thread id: one array store per charge, no hash map on the hot path. A
 * task whose entry a colliding one took falls back to prev_sum_exec_runtime; entries are written
 * by whichever CPU charges the task, so a check word over the fields rejects one torn by two
 * colliding writers. */
struct task_mark {
  __u64 task;     /* task_struct address */
  __u64 start_ns; /* its start_time: an address reused by a later task is not the same task */
  __u64 charged_ns;
  __u64 check;
};
#define TASK_MARKS_LOG2 13
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1 << TASK_MARKS_LOG2);
  __type(key, __u32);
  __type(value, struct task_mark);
} task_marks SEC(".maps");

/* Slots below this have been handed out at least once. */
__u64 fresh_slots_used = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_CGROUPS);
  __type(key, __u64);
  __type(value, __u64);
} cpu_ns_by_cgroup SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, CPU_TIME_DEFAULT_EXIT_RING_BYTES);
} process_exits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, CPU_TIME_DEFAULT_META_RING_BYTES);
} meta_changes SEC(".maps");

static __always_inline void count_drop(__u32 kind)
{
  __u64 *n = bpf_map_lookup_elem(&drops, &kind);
  if (n)
    *n += 1;
}

static __always_inline void publish_meta(const struct cpu_time_process_key *key,
                                         const struct cpu_time_process_meta *meta)
{
  struct cpu_time_meta_change *change = bpf_ringbuf_reserve(&meta_changes, sizeof(*change), 0);
  if (!change) {
    count_drop(CPU_TIME_DROP_META_CHANGE);
    return;
  }
  change->key = *key;
  __builtin_memcpy(&change->meta, meta, sizeof(*meta));
  bpf_ringbuf_submit(change, BPF_RB_NO_WAKEUP); /* user space polls; nobody sleeps on it */
}

/* Adds delta to this CPU's slot of a per-CPU counter, creating the entry on first sight.
 * Returns 1 when this call created it, 0 when it existed, -1 when the map is full. */
static __always_inline int add_or_insert(void *map, const void *key, __u64 delta, __u32 drop_kind)
{
  __u64 *ns = bpf_map_lookup_elem(map, key);
  if (ns) {
    *ns += delta; /* per-CPU slot, and the scheduler runs us with preemption off: no atomics */
    return 0;
  }
  /* Helper results in int: a long compared with -EEXIST miscompiles on some LLVM and kernel
   * pairs (the habit of libbpf-tools' maps.bpf.h, bcc PR #4571). */
  int err = bpf_map_update_elem(map, key, &delta, BPF_NOEXIST); /* other CPUs' slots start at 0 */
  if (err == 0)
    return 1;
  if (err == -EEXIST) { /* another CPU inserted it between our lookup and update */
    ns = bpf_map_lookup_elem(map, key);
    if (ns) {
      *ns += delta;
      return 0;
    }
  }
  count_drop(drop_kind);
  return -1;
}

/* Set by user space once it has checked that it can flush every CPU before a read (5.10+);
 * until then every cgroup slice goes straight to the map. */
__u32 gather_on_cpu = 0;

static __always_inline struct cpu_time_cpu_state *this_cpu_state(void)
{
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_state, &zero);
}

/* Wall time the idle task has held this CPU since it got it (or since the last flush), 0
 * when unknown (it had it before the attach); the count restarts at `now`. Task time charged
 * on the CPU since that mark is not idle: it is 0 unless the idle task got the CPU unseen. */
static __always_inline __u64 idle_time(struct cpu_time_cpu_state *cpu, __u64 now)
{
  __u64 since = cpu->idle_since_ns;
  __u64 elapsed = since == 0 || now <= since ? 0 : now - since;
  __u64 busy = cpu->charged_since_idle_ns;
  cpu->idle_since_ns = now;
  cpu->charged_since_idle_ns = 0;
  return elapsed > busy ? elapsed - busy : 0;
}

/* What the task this CPU last switched to ran since then, when it gave the CPU to the idle task
 * unseen (a kernel that hides its switches from tracepoints): that time is not idle. Read
 * through the remembered address, fault-safe; such a task is charged to no process. */
static __always_inline __u64 unseen_runtime(const struct cpu_time_cpu_state *cpu)
{
  struct task_struct *task = (struct task_struct *)cpu->running_task;
  if (!task)
    return 0;
  __u64 runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
  return runtime > cpu->running_charged_ns ? runtime - cpu->running_charged_ns : 0;
}

/* The idle time to count when `idle_task` leaves the CPU (or is flushed) at `now`. */
static __always_inline __u64 take_idle_time(struct cpu_time_cpu_state *cpu, const void *idle_task, __u64 now)
{
  __u64 idle = idle_time(cpu, now);
  if (cpu->running_task != (__u64)idle_task) {
    __u64 busy = unseen_runtime(cpu);
    idle = idle > busy ? idle - busy : 0;
    cpu->running_task = (__u64)idle_task; /* counted: a flush must not subtract it again */
  }
  return idle;
}

/* Priorities below this are real-time or deadline: those classes keep no prev_sum_exec_runtime. */
#define MAX_RT_PRIO 100

/* Where the current slice of a task began when its switch-in was not seen and its mark is gone
 * (the first slice after attach, or a kernel that hides some tasks' switches from tracepoints):
 * the fair scheduler records the task's runtime when it picks it (prev_sum_exec_runtime). Other
 * classes record nothing there, so their unseen slice is not charged (`runtime`: nothing grew). */
static __always_inline __u64 picked_at(int prio, __u64 picked_at_runtime, __u64 runtime)
{
  return prio >= MAX_RT_PRIO ? picked_at_runtime : runtime;
}

/* Indexed by thread id, unique among live tasks (the verifier allows no arithmetic on the
 * task's address). */
static __always_inline __u32 task_mark_index(__u32 tid)
{
  return (__u32)(((__u64)tid * 0x9E3779B97F4A7C15ULL) >> (64 - TASK_MARKS_LOG2));
}

static __always_inline __u64 task_mark_check(__u32 tid, __u64 start_ns, __u64 charged_ns)
{
  return tid ^ (start_ns * 0xC2B2AE3D27D4EB4FULL) ^ (charged_ns * 0x9E3779B97F4A7C15ULL);
}

static __always_inline void mark_charged(const void *task, __u32 tid, __u64 start_ns, __u64 charged_ns)
{
  __u32 index = task_mark_index(tid);
  struct task_mark *mark = bpf_map_lookup_elem(&task_marks, &index);
  if (!mark)
    return;
  mark->task = (__u64)task;
  mark->start_ns = start_ns;
  mark->charged_ns = charged_ns;
  mark->check = task_mark_check(tid, start_ns, charged_ns);
}

/* The runtime `task` was last charged, from its mark; `fallback` when another task has the entry. */
static __always_inline __u64 last_charged(const void *task, __u32 tid, __u64 start_ns, __u64 runtime,
                                          __u64 fallback)
{
  __u32 index = task_mark_index(tid);
  struct task_mark *mark = bpf_map_lookup_elem(&task_marks, &index);
  if (!mark)
    return fallback;
  struct task_mark seen = *mark;
  bool ours = seen.task == (__u64)task && seen.start_ns == start_ns &&
              seen.check == task_mark_check(tid, seen.start_ns, seen.charged_ns);
  return ours && seen.charged_ns <= runtime ? seen.charged_ns : fallback;
}

/* Where the current slice of `task` began when its switch-in on this CPU was not seen. */
static __always_inline __u64 unseen_slice_start(bool typed, struct task_struct *task, __u64 start_ns, __u64 runtime)
{
  __u64 picked = picked_at(KREAD(typed, task, prio), KREAD(typed, task, se.prev_sum_exec_runtime), runtime);
  return last_charged(task, KREAD(typed, task, pid), start_ns, runtime, picked);
}

static __always_inline bool saw_switch_in(const struct cpu_time_cpu_state *cpu, const void *task)
{
  return cpu->running_task == (__u64)task;
}

/* Where a task stands in do_exit, for take_runtime. */
#define PF_EXITING 0x00000004 /* include/linux/sched.h */
#define TASK_DEAD 0x00000080  /* include/linux/sched.h; set by do_task_dead() just before the task's last __schedule() */
enum exit_phase { running_normally, exiting, dead /* this switch is its last */ };


/* task_struct::state became the unsigned int __state in 5.14 (commit 2f064a59a11f, "sched:
 * Change task_struct::state"); these flavors let CO-RE read whichever the kernel has. */
struct task_struct___state_since_5_14 {
  unsigned int __state;
} __attribute__((preserve_access_index));
struct task_struct___state_before_5_14 {
  long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(const void *task)
{
  const struct task_struct___state_since_5_14 *recent = task;
  if (bpf_core_field_exists(recent->__state))
    return BPF_CORE_READ(recent, __state);
  return (unsigned int)BPF_CORE_READ((const struct task_struct___state_before_5_14 *)task, state);
}

/* The state is read only for a task in do_exit (PF_EXITING, set by exit_signals()): the rest
 * of the time one flags load answers. Only a switch can be a task's last: a flush finds the task
 * still running, even when it lands between do_task_dead()'s setting TASK_DEAD and its final
 * __schedule() (interrupts are still on there), and then the switch charges the rest. */
static __always_inline enum exit_phase exit_phase_of(const void *task, unsigned int flags, bool at_switch)
{
  if (!(flags & PF_EXITING))
    return running_normally;
  return at_switch && task_state(task) & TASK_DEAD ? dead : exiting;
}

/* The runtime `task` gained since it was last charged on this CPU (or, when its switch-in was
 * not seen, since it was last charged anywhere if it is exiting, else since `slice_start`), and
 * remembers `runtime` (its se.sum_exec_runtime now) as charged. */
static __always_inline __u64 take_runtime(struct cpu_time_cpu_state *cpu, const void *task, __u64 runtime,
                                          __u64 slice_start, enum exit_phase phase)
{
  __u64 key = (__u64)task;
  __u64 *exit_charged = phase == running_normally ? 0 : bpf_map_lookup_elem(&exiting_charged, &key);
  __u64 charged = slice_start;
  if (saw_switch_in(cpu, task))
    charged = cpu->running_charged_ns;
  else if (exit_charged)
    charged = *exit_charged;
  __u64 delta = runtime > charged ? runtime - charged : 0;
  cpu->running_task = (__u64)task;
  cpu->running_charged_ns = runtime;
  cpu->charged_since_idle_ns += delta;
  if (phase == dead)
    bpf_map_delete_elem(&exiting_charged, &key);
  else if (exit_charged)
    *exit_charged = runtime;
  else if (phase == exiting)
    bpf_map_update_elem(&exiting_charged, &key, &runtime, BPF_ANY);
  return delta;
}

/* Idle periods are timed without reading the clock at each switch (a read costs as much as
 * the rest of a switch): at a switch the scheduler's own clock (rq_clock_task) is at hand in
 * se.exec_start, prev's brought up to date as it left, next's set as it was picked. That clock
 * stops during interrupts where the kernel accounts their time, so its offset to ours
 * (bpf_ktime_get_ns, which a flush reads) grows by their time; it is re-read when the idle task
 * gets the CPU at least CLOCK_OFFSET_MAX_AGE_NS after the last read. A period's two ends use the
 * same offset, so its length is exact (less its interrupts, which are not idle either); a flush
 * in the middle can only move up to the interrupt time of that span between two reads. */
#define CLOCK_OFFSET_MAX_AGE_NS 1000000ULL

/* bpf_ktime_get_ns() as of the scheduler's clock `sched_now` on this CPU, read when the offset
 * is unknown (the idle task had the CPU before the attach). */
static __always_inline __u64 ktime_at(const struct cpu_time_cpu_state *cpu, __u64 sched_now)
{
  return cpu->sched_clock_offset_ns ? sched_now + cpu->sched_clock_offset_ns : bpf_ktime_get_ns();
}

/* The idle task gets this CPU at the scheduler's `sched_now`. */
static __always_inline void start_idle(struct cpu_time_cpu_state *cpu, __u64 sched_now)
{
  if (!cpu->sched_clock_offset_ns || sched_now - cpu->sched_clock_offset_at >= CLOCK_OFFSET_MAX_AGE_NS) {
    cpu->sched_clock_offset_ns = bpf_ktime_get_ns() - sched_now; /* modulo 2^64: any two origins */
    cpu->sched_clock_offset_at = sched_now;
  }
  cpu->idle_since_ns = sched_now + cpu->sched_clock_offset_ns;
  cpu->charged_since_idle_ns = 0;
}

/* `task` gets this CPU with `runtime` already charged; `sched_now` is the scheduler's clock,
 * used when `task` is the idle task. */
static __always_inline void start_slice(struct cpu_time_cpu_state *cpu, const void *task, __u64 runtime,
                                        bool idle, __u64 sched_now)
{
  cpu->running_task = (__u64)task;
  cpu->running_charged_ns = runtime;
  if (idle)
    start_idle(cpu, sched_now);
}

/* Takes a recycled slot, else a fresh one; -1 when all max_processes are in use. */
static __always_inline int take_slot(__u32 *slot)
{
  if (bpf_map_pop_elem(&free_slots, slot) == 0)
    return 0;
  __u64 fresh = __sync_fetch_and_add(&fresh_slots_used, 1);
  if (fresh >= max_processes)
    return -1;
  *slot = (__u32)fresh;
  return 0;
}

/* The slot of a process, taken with its metadata (published) on first sight; -1 when none is
 * left. Another CPU may create the same process at the same time: the loser gives its slot back. */
static __always_inline int slot_of(const struct cpu_time_process_key *key, struct task_struct *leader,
                                    __u64 cgroup_id)
{
  struct cpu_time_process_meta *known = bpf_map_lookup_elem(&processes, key);
  if (known)
    return known->slot;
  struct cpu_time_process_meta meta = {.cgroup_id = cgroup_id};
  if (take_slot(&meta.slot)) {
    count_drop(CPU_TIME_DROP_PROCESS);
    return -1;
  }
  BPF_CORE_READ_INTO(&meta.comm, leader, comm);
  int err = bpf_map_update_elem(&processes, key, &meta, BPF_NOEXIST);
  if (err == 0) {
    publish_meta(key, &meta);
    return meta.slot;
  }
  bpf_map_push_elem(&free_slots, &meta.slot, 0); /* room for every slot: never fails */
  known = err == -EEXIST ? bpf_map_lookup_elem(&processes, key) : 0;
  if (known)
    return known->slot;
  count_drop(CPU_TIME_DROP_PROCESS);
  return -1;
}

/* Adds to this CPU's counter of a slot: its own region of the array, no atomics needed. */
static __always_inline void add_to_slot(__u32 slot, __u64 delta)
{
  __u32 index = bpf_get_smp_processor_id() * max_processes + slot;
  __u64 *ns = bpf_map_lookup_elem(&process_cpu_ns, &index);
  if (ns)
    *ns += delta;
}

static __always_inline void flush_cgroup(struct cpu_time_cpu_state *cpu, __u32 slot)
{
  slot &= 1;
  if (cpu->cgroup_ns[slot]) {
    add_or_insert(&cpu_ns_by_cgroup, &cpu->cgroup_id[slot], cpu->cgroup_ns[slot], CPU_TIME_DROP_CGROUP);
    cpu->cgroup_ns[slot] = 0;
  }
}

static __always_inline int cached_process(const struct cpu_time_cpu_state *cpu, __u32 tgid, __u64 start_ns)
{
  if (cpu->process[0].key.tgid == tgid && cpu->process[0].key.start_ns == start_ns)
    return 0;
  if (cpu->process[1].key.tgid == tgid && cpu->process[1].key.start_ns == start_ns)
    return 1;
  return -1;
}

/* Charges a slice to its process: through the CPU's cache of recent processes and their
 * slots, else a lookup (or first sight) that takes over the least recently used cache entry.
 * A process whose slot is cached has not exited: user space frees slots only an interval
 * after a process's exit, long after its last switch. */
static __always_inline void charge_process(struct cpu_time_cpu_state *cpu, __u32 tgid, __u64 start_ns,
                                           struct task_struct *leader, __u64 cgroup_id, __u64 delta)
{
  int cached = cached_process(cpu, tgid, start_ns);
  if (cached >= 0) {
    cpu->process_recent = cached;
    add_to_slot(cpu->process[cached & 1].slot, delta);
    return;
  }
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  int slot = slot_of(&key, leader, cgroup_id);
  if (slot < 0)
    return;
  __u32 victim = (cpu->process_recent ^ 1) & 1;
  cpu->process[victim].key = key;
  cpu->process[victim].slot = (__u32)slot;
  cpu->process_recent = victim;
  add_to_slot((__u32)slot, delta);
}

/* Charges a slice to its cgroup: gathered on the CPU when the cgroup owns one of the CPU's
 * slots, else straight into the map, taking over the least recently used slot (whose time is
 * flushed first). */
static __always_inline void charge_cgroup(struct cpu_time_cpu_state *cpu, __u64 cgroup_id, __u64 delta)
{
  int slot = !gather_on_cpu ? -1 : cpu->cgroup_id[0] == cgroup_id ? 0 : cpu->cgroup_id[1] == cgroup_id ? 1 : -1;
  if (slot >= 0) {
    cpu->cgroup_ns[slot & 1] += delta;
    cpu->cgroup_recent = slot;
    return;
  }
  __u32 victim = (cpu->cgroup_recent ^ 1) & 1;
  flush_cgroup(cpu, victim);
  add_or_insert(&cpu_ns_by_cgroup, &cgroup_id, delta, CPU_TIME_DROP_CGROUP);
  cpu->cgroup_id[victim] = cgroup_id;
  cpu->cgroup_recent = victim;
}

static __always_inline void charge(struct cpu_time_cpu_state *cpu, __u32 tgid, __u64 start_ns,
                                   struct task_struct *leader, __u64 cgroup_id, __u64 delta)
{
  charge_process(cpu, tgid, start_ns, leader, cgroup_id, delta);
  charge_cgroup(cpu, cgroup_id, delta);
}

/* Metadata follows a process that moves to another cgroup (runtimes move a container's first
 * process after it ran) or execs (new comm). Rare events: nothing of this is on the hot path. */
static __always_inline void follow_move(__u32 tgid, __u64 start_ns, __u64 cgroup_id)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&processes, &key);
  if (meta && meta->cgroup_id != cgroup_id) { /* also fires for v1 hierarchies: v2 unchanged */
    meta->cgroup_id = cgroup_id;
    publish_meta(&key, meta);
  }
}

static __always_inline void follow_exec(__u32 tgid, __u64 start_ns, struct task_struct *task)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&processes, &key);
  if (meta) {
    BPF_CORE_READ_INTO(&meta->comm, task, comm);
    publish_meta(&key, meta);
  }
}

static __always_inline void emit_exit(__u32 tgid, __u64 start_ns)
{
  struct cpu_time_exit_event *event = bpf_ringbuf_reserve(&process_exits, sizeof(*event), 0);
  if (!event) {
    count_drop(CPU_TIME_DROP_EXIT);
    return;
  }
  event->tgid = tgid;
  event->pad = 0;
  event->start_ns = start_ns;
  bpf_ringbuf_submit(event, BPF_RB_NO_WAKEUP); /* user space polls; nobody sleeps on it */
}

/* Charges `task` its runtime since it was last charged on this CPU, to its process and to the
 * cgroup `cgroup_id`, and reports its process's exit when this switch (`at_switch`, not a
 * flush) is the last of its last thread: signal->live reached 0 in do_exit() before sched_process_exit (kernel/exit.c), and
 * do_task_dead() sets TASK_DEAD just before the final __schedule() (kernel/sched/core.c), so
 * everything the process ran is charged by then. The runtime is the kernel's as of its last
 * update: at a switch it is current (put_prev_task() ran update_curr()), at a flush it may be
 * up to a tick old, and the rest is charged at the next switch. */
static __always_inline void charge_task(bool typed, struct cpu_time_cpu_state *cpu, struct task_struct *task,
                                        __u64 cgroup_id, bool at_switch)
{
  __u64 runtime = KREAD(typed, task, se.sum_exec_runtime);
  __u64 task_started = KREAD(typed, task, start_time);
  __u64 slice_start = saw_switch_in(cpu, task) ? 0 : unseen_slice_start(typed, task, task_started, runtime);
  enum exit_phase phase = exit_phase_of(task, KREAD(typed, task, flags), at_switch);
  __u64 delta = take_runtime(cpu, task, runtime, slice_start, phase);
  mark_charged(task, KREAD(typed, task, pid), task_started, runtime);
  struct task_struct *leader = KREAD(typed, task, group_leader);
  __u32 tgid = KREAD(typed, task, tgid);
  __u64 start_ns = KREAD(typed, leader, start_boottime); /* start_boottime since 5.5 (commit cf25e24db61c) */
  if (delta)
    charge(cpu, tgid, start_ns, leader, cgroup_id, delta);
  if (phase == dead && KREAD(typed, task, signal, live.counter) == 0)
    emit_exit(tgid, start_ns);
}

/* sched_switch: `prev` leaves this CPU, `next` gets it. The idle task (pid 0) gets the wall time
 * it held the CPU; any other task is charged its runtime growth, to prev's own cgroup v2 (the
 * one bpf_get_current_cgroup_id() gives: prev is still current here). */
static __always_inline int handle_switch(bool typed, struct task_struct *prev, struct task_struct *next)
{
  struct cpu_time_cpu_state *cpu = this_cpu_state();
  if (!cpu)
    return 0;
  if (KREAD(typed, prev, pid) == 0)
    cpu->idle_ns += take_idle_time(cpu, prev, ktime_at(cpu, KREAD(typed, next, se.exec_start)));
  else
    charge_task(typed, cpu, prev, KREAD(typed, prev, cgroups, dfl_cgrp, kn, id), true);
  start_slice(cpu, next, KREAD(typed, next, se.sum_exec_runtime), KREAD(typed, next, pid) == 0,
              KREAD(typed, prev, se.exec_start));
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  return handle_switch(true, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  return handle_switch(false, prev, next);
}

/* sched_process_exit: an exiting thread starts its entry in exiting_charged here, while
 * prev_sum_exec_runtime still marks its slice: the autogroup exit later in do_exit()
 * (sched_autogroup_exit_task() → sched_move_task() → set_next_task()) re-picks the running task
 * and resets that field (set_next_entity(), kernel/sched/fair.c), so a switch-in not seen after
 * that could not be placed. A flush that interrupts this program (interrupts are on) may have
 * written a newer value, which NOEXIST keeps. */
static __always_inline int handle_exit(bool typed, struct task_struct *task)
{
  struct cpu_time_cpu_state *cpu = this_cpu_state();
  if (!cpu)
    return 0;
  __u64 key = (__u64)task;
  __u64 charged = saw_switch_in(cpu, task) ? cpu->running_charged_ns
                                            : unseen_slice_start(typed, task, KREAD(typed, task, start_time),
                                                                 KREAD(typed, task, se.sum_exec_runtime));
  bpf_map_update_elem(&exiting_charged, &key, &charged, BPF_NOEXIST);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
  return handle_exit(true, task);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *task)
{
  return handle_exit(false, task);
}

/* cgroup_attach_task fires after the move, once per hierarchy written to (cgroup_attach_task()
 * → cgroup_migrate_execute(), kernel/cgroup/cgroup.c): the task's v2 cgroup (dfl_cgrp) is then
 * current whichever hierarchy it was. */
static __always_inline int handle_move(bool typed, struct task_struct *task)
{
  follow_move(KREAD(typed, task, tgid), KREAD(typed, task, group_leader, start_boottime),
              KREAD(typed, task, cgroups, dfl_cgrp, kn, id));
  return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(move_btf, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
  return handle_move(true, task);
}

SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(move_raw, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
  return handle_move(false, task);
}

/* sched_process_exec: after exec the task is the group leader (de_thread(), fs/exec.c) and its
 * comm is the new one. */
static __always_inline int handle_exec(bool typed, struct task_struct *task)
{
  follow_exec(KREAD(typed, task, tgid), KREAD(typed, task, group_leader, start_boottime), task);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *task)
{
  return handle_exec(true, task);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *task)
{
  return handle_exec(false, task);
}

/* Run by user space on each CPU just before a read (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU: an IPI, so `current` is whoever is on that CPU). It charges the slice
 * in progress and flushes what the CPU gathered, so a CPU that has not switched for seconds
 * (idle, or one busy task) is accounted up to the read. Interrupts are off in the scheduler:
 * it never lands inside a switch. */
SEC("raw_tp")
int flush_cpu(void *ctx)
{
  struct cpu_time_cpu_state *cpu = this_cpu_state();
  if (!cpu)
    return 0;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  if (BPF_CORE_READ(task, pid) == 0)
    cpu->idle_ns += take_idle_time(cpu, task, bpf_ktime_get_ns());
  else
    charge_task(false, cpu, task, bpf_get_current_cgroup_id(), false);
  for (__u32 slot = 0; slot < CPU_TIME_GATHER_SLOTS; ++slot) {
    flush_cgroup(cpu, slot);
    /* Forget the cached processes: after every CPU's flush, no charge can reach a slot
     * through a process that user space has since retired (it gives such slots back only
     * after the next read's flushes). */
    cpu->process[slot].key.tgid = 0;
    cpu->process[slot].key.start_ns = 0;
  }
  return 0;
}
