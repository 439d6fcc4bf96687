// CPU time per process tree from /proc, to split a benchmark window's CPU between the stack's
// processes (services, PostgreSQL, the PKI's responders, the load generator) and everything else
// on the machine (other users of a shared VM).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace dvc::loadgen {

// One /proc/<pid>/stat line. `ticks` = utime + stime + cutime + cstime (clock ticks): the
// process's own CPU and that of its children it has waited for, so a tree's total counts a child
// once whether it is alive (its own line) or gone (in its parent's line).
struct ProcStat {
  int pid = 0;
  int ppid = 0;
  uint64_t ticks = 0;
};

// nullopt for a malformed line. The command name (field 2) may contain spaces and parentheses:
// the fields after it are found from the LAST ')'.
std::optional<ProcStat> ParseProcStat(absl::string_view line);

// The "cpu " line of /proc/stat: busy = user + nice + system + irq + softirq + steal,
// total = busy + idle + iowait (clock ticks).
struct MachineTicks {
  uint64_t busy = 0;
  uint64_t total = 0;
};
std::optional<MachineTicks> ParseMachineStat(absl::string_view proc_stat);

// A named process tree: `root_pid` and all its descendants at sampling time.
struct CpuGroup {
  std::string name;
  int root_pid = 0;
};

// "name:pid,name:pid,…" (the format tools/bench passes in BENCH_PIDS); entries with a bad pid
// are skipped; a name given twice sums its trees.
std::vector<CpuGroup> ParseGroups(absl::string_view spec);

struct CpuSample {
  std::map<std::string, uint64_t> ticks;  // per group name
  MachineTicks machine;
};

// Sums each group's tree from a process table (pid → stat). A process belongs to the first
// group whose root is among its ancestors (or itself).
std::map<std::string, uint64_t> SumTrees(const std::vector<CpuGroup>& groups,
                                         const std::vector<ProcStat>& table);

// Reads /proc now.
CpuSample TakeCpuSample(const std::vector<CpuGroup>& groups);

// CPU-seconds spent between two samples: per group (in `groups` order, a repeated name once)
// and `other` = machine busy time not in any group (other users of the machine).
struct CpuSplit {
  double window_s = 0;
  double machine_busy_s = 0;
  std::vector<std::pair<std::string, double>> groups;
  double other_s = 0;
  double Of(const std::string& name) const;  // 0 for an unknown name
  // Adds another window's split (several measured windows of one run): windows, busy time and
  // each group's seconds are summed (a group only in `other` is appended).
  void Add(const CpuSplit& other);
};
CpuSplit ComputeCpuSplit(const std::vector<CpuGroup>& groups, const CpuSample& before,
                         const CpuSample& after, double window_s);

// "cpu_s window=20.0 cores=2 machine_busy=37.5 <group>=<s> … other=<s>".
std::string FormatCpuSplit(const CpuSplit& split);

// CPU-milliseconds per operation: "stack=<ms> <group>=<ms> … loadgen=<ms>", where stack sums
// every group but "loadgen" (groups with no CPU are left out). Empty when `ops` is 0.
std::string FormatCpuPerOp(const CpuSplit& split, long ops);

}  // namespace dvc::loadgen
