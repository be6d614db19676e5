// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Measures how long each task stayed on a CPU, charged at sched_switch to its process (tgid +
 * start time), its cgroup v2 id, or the idle task, in nanoseconds of bpf_ktime_get_ns. */
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

static __always_inline void count_drop(__u32 kind)
{
  __u64 *n = bpf_map_lookup_elem(&drops, &kind);
  if (n)
    *n += 1;
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

/* Closes this CPU's current slice: returns its state and sets *delta, or NULL before the first
 * switch seen on this CPU (the slice has no known start). */
static __always_inline struct cpu_time_cpu_state *take_slice(__u64 *delta)
{
  __u32 zero = 0;
  struct cpu_time_cpu_state *cpu = bpf_map_lookup_elem(&cpu_state, &zero);
  if (!cpu)
    return NULL;
  __u64 now = bpf_ktime_get_ns();
  __u64 last = cpu->last_switch_ns;
  cpu->last_switch_ns = now;
  if (last == 0 || now <= last)
    return NULL;
  *delta = now - last;
  return cpu;
}

/* Charges a slice of the task being switched out to its process and its cgroup. In
 * sched_switch `current` is still prev, so the current cgroup id is prev's. */
static __always_inline void charge(__u32 tgid, __u64 start_ns, struct task_struct *leader, __u64 delta)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  __u64 cgroup_id = bpf_get_current_cgroup_id();
  int created = add_or_insert(&cpu_ns_by_process, &key, delta, CPU_TIME_DROP_PROCESS);
  add_or_insert(&cpu_ns_by_cgroup, &cgroup_id, delta, CPU_TIME_DROP_CGROUP);
  if (created > 0) {
    struct cpu_time_process_meta meta = {.cgroup_id = cgroup_id};
    BPF_CORE_READ_INTO(&meta.comm, leader, comm);
    if (bpf_map_update_elem(&process_meta, &key, &meta, BPF_ANY))
      count_drop(CPU_TIME_DROP_META);
  }
}

/* Metadata follows a process that moves to another cgroup (runtimes move a container's first
 * process after it ran) or execs (new comm). Rare events: nothing of this is on the hot path. */
static __always_inline void follow_move(__u32 tgid, __u64 start_ns, __u64 cgroup_id)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&process_meta, &key);
  if (meta)
    meta->cgroup_id = cgroup_id;
}

static __always_inline void follow_exec(__u32 tgid, __u64 start_ns, struct task_struct *task)
{
  struct cpu_time_process_key key = {.tgid = tgid, .start_ns = start_ns};
  struct cpu_time_process_meta *meta = bpf_map_lookup_elem(&process_meta, &key);
  if (meta)
    BPF_CORE_READ_INTO(&meta->comm, task, comm);
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
  __u64 delta = 0;
  struct cpu_time_cpu_state *cpu = take_slice(&delta);
  if (!cpu)
    return 0;
  if (prev->pid == 0) {
    cpu->idle_ns += delta;
    return 0;
  }
  struct task_struct *leader = prev->group_leader;
  charge(prev->tgid, leader->start_boottime, leader, delta);
  return 0;
}

/* Variant 2 (raw tracepoint): the same logic, reads relocated through BPF_CORE_READ. */
SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  __u64 delta = 0;
  struct cpu_time_cpu_state *cpu = take_slice(&delta);
  if (!cpu)
    return 0;
  if (BPF_CORE_READ(prev, pid) == 0) {
    cpu->idle_ns += delta;
    return 0;
  }
  struct task_struct *leader = BPF_CORE_READ(prev, group_leader);
  charge(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(leader, start_boottime), leader, delta);
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
 * in progress, so a CPU that has not switched for seconds (idle, or one busy task) is still
 * accounted up to the read. Interrupts are off in the scheduler, so it never splits a switch. */
SEC("raw_tp")
int flush_cpu(void *ctx)
{
  __u64 delta = 0;
  struct cpu_time_cpu_state *cpu = take_slice(&delta);
  if (!cpu)
    return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if ((__u32)pid_tgid == 0) {
    cpu->idle_ns += delta;
    return 0;
  }
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *leader = BPF_CORE_READ(task, group_leader);
  charge(pid_tgid >> 32, BPF_CORE_READ(leader, start_boottime), leader, delta);
  return 0;
}
