// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Measures the CPU time of each task, charged at sched_switch to its process (tgid + start
 * time) and its cgroup v2 id: the growth of the task's se.sum_exec_runtime, the kernel's own
 * counter behind cgroup cpu.stat and /proc. The idle task gets the wall time it held the CPU
 * (bpf_ktime_get_ns), so node busy time = elapsed − idle includes interrupts and scheduling,
 * which no process is charged for. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cpu_time.h"

#define EEXIST 17 /* vmlinux.h carries no errno values */

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

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_PROCESSES);
  __type(key, struct cpu_time_process_key);
  __type(value, __u64);
} cpu_ns_by_process SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CPU_TIME_DEFAULT_MAX_PROCESSES);
  __type(key, struct cpu_time_process_key);
  __type(value, struct cpu_time_process_meta);
} process_meta SEC(".maps");

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
  long err = bpf_map_update_elem(map, key, &delta, BPF_NOEXIST); /* other CPUs' slots start at 0 */
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
 * until then every slice goes straight to the maps. */
__u32 gather_on_cpu = 0;

static __always_inline struct cpu_time_cpu_state *this_cpu_state(void)
{
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_state, &zero);
}

/* Wall time the idle task has held this CPU since it got it (or since the last flush), 0
 * when unknown (it had it before the attach); the count restarts at
 * `now`. The clock is only read when the idle task is involved: a switch between two tasks
 * needs no timestamp. */
static __always_inline __u64 idle_time(struct cpu_time_cpu_state *cpu, __u64 now)
{
  __u64 since = cpu->idle_since_ns;
  cpu->idle_since_ns = now;
  return since == 0 || now <= since ? 0 : now - since;
}

/* Priorities below this are real-time or deadline: those classes keep no prev_sum_exec_runtime. */
#define MAX_RT_PRIO 100

/* Where the current slice of `task` began when its switch-in was not seen (the first slice
 * after attach, or a kernel that hides some tasks' switches from tracepoints): the fair
 * scheduler records the task's runtime when it picks it (prev_sum_exec_runtime). Other classes
 * record nothing there, so their unseen slice is not charged (`runtime`: nothing grew). */
static __always_inline __u64 unseen_slice_start(int prio, __u64 picked_at_runtime, __u64 runtime)
{
  return prio >= MAX_RT_PRIO ? picked_at_runtime : runtime;
}

static __always_inline bool saw_switch_in(const struct cpu_time_cpu_state *cpu, const void *task)
{
  return cpu->running_task == (__u64)task;
}

/* The runtime `task` gained since it was last charged on this CPU (or since `slice_start` when
 * its switch-in was not seen), and remembers `runtime` (its se.sum_exec_runtime now) as charged. */
static __always_inline __u64 take_runtime(struct cpu_time_cpu_state *cpu, const void *task, __u64 runtime,
                                          __u64 slice_start)
{
  __u64 charged = saw_switch_in(cpu, task) ? cpu->running_charged_ns : slice_start;
  cpu->running_task = (__u64)task;
  cpu->running_charged_ns = runtime;
  return runtime > charged ? runtime - charged : 0;
}

/* `task` gets this CPU with `runtime` already charged. When the idle task gets it back unseen,
 * its time counts from the last switch seen: the hidden task's run is then counted idle. */
static __always_inline void start_slice(struct cpu_time_cpu_state *cpu, const void *task, __u64 runtime,
                                        bool idle)
{
  cpu->running_task = (__u64)task;
  cpu->running_charged_ns = runtime;
  if (idle)
    cpu->idle_since_ns = bpf_ktime_get_ns();
}

/* Moves what a slot gathered into the maps. */
static __always_inline void flush_process(struct cpu_time_cpu_state *cpu, __u32 slot)
{
  struct cpu_time_gathered_process *gathered = &cpu->process[slot & 1];
  if (gathered->ns) {
    add_or_insert(&cpu_ns_by_process, &gathered->key, gathered->ns, CPU_TIME_DROP_PROCESS);
    gathered->ns = 0;
  }
}

static __always_inline void flush_cgroup(struct cpu_time_cpu_state *cpu, __u32 slot)
{
  slot &= 1;
  if (cpu->cgroup_ns[slot]) {
    add_or_insert(&cpu_ns_by_cgroup, &cpu->cgroup_id[slot], cpu->cgroup_ns[slot], CPU_TIME_DROP_CGROUP);
    cpu->cgroup_ns[slot] = 0;
  }
}

static __always_inline int process_slot(struct cpu_time_cpu_state *cpu, __u32 tgid, __u64 start_ns)
{
  if (cpu->process[0].key.tgid == tgid && cpu->process[0].key.start_ns == start_ns)
    return 0;
  if (cpu->process[1].key.tgid == tgid && cpu->process[1].key.start_ns == start_ns)
    return 1;
  return -1;
}

/* Charges a slice to its process and its cgroup: gathered on the CPU when it owns one of the
 * CPU's slots, else straight into the map, taking over the least recently used slot (whose
 * time is flushed first). A process's first slice always reaches the map, with its metadata,
 * while its group leader is at hand. */
static __always_inline void charge(struct cpu_time_cpu_state *cpu, __u32 tgid, __u64 start_ns,
                                   struct task_struct *leader, __u64 cgroup_id, __u64 delta)
{
  __u32 gather = gather_on_cpu;
  int slot = gather ? process_slot(cpu, tgid, start_ns) : -1;
  if (slot >= 0) {
    cpu->process[slot & 1].ns += delta;
    cpu->process_recent = slot;
  } else {
    __u32 victim = (cpu->process_recent ^ 1) & 1;
    flush_process(cpu, victim);
    struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
    if (add_or_insert(&cpu_ns_by_process, &key, delta, CPU_TIME_DROP_PROCESS) > 0) {
      struct cpu_time_process_meta meta = {.cgroup_id = cgroup_id};
      BPF_CORE_READ_INTO(&meta.comm, leader, comm);
      if (bpf_map_update_elem(&process_meta, &key, &meta, BPF_ANY))
        count_drop(CPU_TIME_DROP_META);
      else
        publish_meta(&key, &meta);
    }
    cpu->process[victim].key = key;
    cpu->process_recent = victim;
  }
  slot = !gather ? -1 : cpu->cgroup_id[0] == cgroup_id ? 0 : cpu->cgroup_id[1] == cgroup_id ? 1 : -1;
  if (slot >= 0) {
    cpu->cgroup_ns[slot & 1] += delta;
    cpu->cgroup_recent = slot;
  } else {
    __u32 victim = (cpu->cgroup_recent ^ 1) & 1;
    flush_cgroup(cpu, victim);
    add_or_insert(&cpu_ns_by_cgroup, &cgroup_id, delta, CPU_TIME_DROP_CGROUP);
    cpu->cgroup_id[victim] = cgroup_id;
    cpu->cgroup_recent = victim;
  }
}

/* Metadata follows a process that moves to another cgroup (runtimes move a container's first
 * process after it ran) or execs (new comm). Rare events: nothing of this is on the hot path. */
static __always_inline void follow_move(__u32 tgid, __u64 start_ns, __u64 cgroup_id)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&process_meta, &key);
  if (meta && meta->cgroup_id != cgroup_id) { /* also fires for v1 hierarchies: v2 unchanged */
    meta->cgroup_id = cgroup_id;
    publish_meta(&key, meta);
  }
}

static __always_inline void follow_exec(__u32 tgid, __u64 start_ns, struct task_struct *task)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&process_meta, &key);
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

/* Variant 1 (kernel 5.5+ with BTF): typed arguments, direct reads. */
SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  struct cpu_time_cpu_state *cpu = this_cpu_state();
  if (!cpu)
    return 0;
  if (prev->pid == 0) {
    cpu->idle_ns += idle_time(cpu, bpf_ktime_get_ns());
  } else {
    /* the scheduler brought prev's runtime up to date before this tracepoint */
    __u64 runtime = prev->se.sum_exec_runtime;
    __u64 slice_start =
        saw_switch_in(cpu, prev) ? 0 : unseen_slice_start(prev->prio, prev->se.prev_sum_exec_runtime, runtime);
    __u64 delta = take_runtime(cpu, prev, runtime, slice_start);
    struct task_struct *leader = prev->group_leader;
    /* prev's cgroup v2 id, as bpf_get_current_cgroup_id() would give, without a helper call */
    __u64 cgroup_id = prev->cgroups->dfl_cgrp->kn->id;
    if (delta)
      charge(cpu, prev->tgid, leader->start_boottime, leader, cgroup_id, delta);
  }
  start_slice(cpu, next, next->se.sum_exec_runtime, next->pid == 0);
  return 0;
}

/* The slice start of a task whose switch-in was not seen, through CO-RE reads. */
static __always_inline __u64 unseen_slice_start_core(struct task_struct *task, __u64 runtime)
{
  return unseen_slice_start(BPF_CORE_READ(task, prio), BPF_CORE_READ(task, se.prev_sum_exec_runtime), runtime);
}

/* Variant 2 (raw tracepoint): the same logic, reads relocated through BPF_CORE_READ. In
 * sched_switch `current` is still prev, so the current cgroup id is prev's. */
SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  struct cpu_time_cpu_state *cpu = this_cpu_state();
  if (!cpu)
    return 0;
  if (BPF_CORE_READ(prev, pid) == 0) {
    cpu->idle_ns += idle_time(cpu, bpf_ktime_get_ns());
  } else {
    __u64 runtime = BPF_CORE_READ(prev, se.sum_exec_runtime);
    __u64 slice_start = saw_switch_in(cpu, prev) ? 0 : unseen_slice_start_core(prev, runtime);
    __u64 delta = take_runtime(cpu, prev, runtime, slice_start);
    struct task_struct *leader = BPF_CORE_READ(prev, group_leader);
    if (delta)
      charge(cpu, BPF_CORE_READ(prev, tgid), BPF_CORE_READ(leader, start_boottime), leader,
             bpf_get_current_cgroup_id(), delta);
  }
  start_slice(cpu, next, BPF_CORE_READ(next, se.sum_exec_runtime), BPF_CORE_READ(next, pid) == 0);
  return 0;
}

/* The last thread of a group to pass here sees signal->live == 0 (do_exit decrements it
 * before this tracepoint). Two threads exiting at once may both see 0: user space dedups. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
  if (task->signal->live.counter != 0)
    return 0;
  emit_exit(task->tgid, task->group_leader->start_boottime);
  return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *task)
{
  if (BPF_CORE_READ(task, signal, live.counter) != 0)
    return 0;
  emit_exit(BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime));
  return 0;
}

/* cgroup_attach_task fires after the move, once per hierarchy written to: the task's v2
 * cgroup (dfl_cgrp) is then current whichever hierarchy it was. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(move_btf, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
  follow_move(task->tgid, task->group_leader->start_boottime, task->cgroups->dfl_cgrp->kn->id);
  return 0;
}

SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(move_raw, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
  follow_move(BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime),
              BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id));
  return 0;
}

/* After exec the task is the group leader (de_thread) and its comm is the new one. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *task)
{
  follow_exec(task->tgid, task->group_leader->start_boottime, task);
  return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *task)
{
  follow_exec(BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime), task);
  return 0;
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
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if ((__u32)pid_tgid == 0) {
    cpu->idle_ns += idle_time(cpu, bpf_ktime_get_ns());
  } else {
    /* current's runtime was last brought up to date at a tick or a wake-up on this CPU: what
     * it ran since then is charged at its next switch or flush */
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u64 runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
    __u64 slice_start = saw_switch_in(cpu, task) ? 0 : unseen_slice_start_core(task, runtime);
    __u64 delta = take_runtime(cpu, task, runtime, slice_start);
    struct task_struct *leader = BPF_CORE_READ(task, group_leader);
    if (delta)
      charge(cpu, pid_tgid >> 32, BPF_CORE_READ(leader, start_boottime), leader,
             bpf_get_current_cgroup_id(), delta);
  }
  for (__u32 slot = 0; slot < CPU_TIME_GATHER_SLOTS; ++slot) {
    flush_process(cpu, slot);
    flush_cgroup(cpu, slot);
  }
  return 0;
}
