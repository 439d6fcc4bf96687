#include "tools/loadgen/proc_cpu.h"

#include <algorithm>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace dvc::loadgen {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<ProcStat> ParseProcStat(absl::string_view line) {
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == absl::string_view::npos || close == absl::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcStat out;
  if (!absl::SimpleAtoi(line.substr(0, open), &out.pid)) return std::nullopt;
  // After ") ": field 3 (state) is index 0, ppid (4) is 1, utime (14) is 11, stime 12,
  // cutime 13, cstime 14.
  std::vector<absl::string_view> f =
      absl::StrSplit(line.substr(close + 1), ' ', absl::SkipEmpty());
  if (f.size() < 15) return std::nullopt;
  if (!absl::SimpleAtoi(f[1], &out.ppid)) return std::nullopt;
  uint64_t t = 0;
  for (int i : {11, 12, 13, 14}) {
    int64_t v = 0;  // cutime/cstime are signed in proc(5)
    if (!absl::SimpleAtoi(f[i], &v) || v < 0) return std::nullopt;
    t += static_cast<uint64_t>(v);
  }
  out.ticks = t;
  return out;
}

std::optional<MachineTicks> ParseMachineStat(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty() || f[0] != "cpu") continue;
    if (f.size() < 9) return std::nullopt;
    uint64_t v[8];
    for (int i = 0; i < 8; ++i) {
      if (!absl::SimpleAtoi(f[i + 1], &v[i])) return std::nullopt;
    }
    // user nice system idle iowait irq softirq steal
    MachineTicks m;
    m.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    m.total = m.busy + v[3] + v[4];
    return m;
  }
  return std::nullopt;
}

std::vector<CpuGroup> ParseGroups(absl::string_view spec) {
  std::vector<CpuGroup> out;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, ':');
    int pid = 0;
    if (kv.first.empty() || !absl::SimpleAtoi(kv.second, &pid) || pid <= 0) continue;
    out.push_back({std::string(kv.first), pid});
  }
  return out;
}

std::map<std::string, uint64_t> SumTrees(const std::vector<CpuGroup>& groups,
                                         const std::vector<ProcStat>& table) {
  std::unordered_map<int, const ProcStat*> by_pid;
  for (const ProcStat& p : table) by_pid[p.pid] = &p;
  std::unordered_map<int, const std::string*> root_of;  // root pid → group name
  std::map<std::string, uint64_t> out;
  for (const CpuGroup& g : groups) {
    root_of.emplace(g.root_pid, &g.name);  // first group wins for a duplicated pid
    out[g.name] += 0;
  }
  for (const ProcStat& p : table) {
    // Walk up at most 64 levels (a cycle cannot happen in /proc, but a torn read could).
    int pid = p.pid;
    for (int depth = 0; depth < 64 && pid > 0; ++depth) {
      auto r = root_of.find(pid);
      if (r != root_of.end()) {
        out[*r->second] += p.ticks;
        break;
      }
      auto it = by_pid.find(pid);
      if (it == by_pid.end()) break;
      pid = it->second->ppid;
    }
  }
  return out;
}

CpuSample TakeCpuSample(const std::vector<CpuGroup>& groups) {
  std::vector<ProcStat> table;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      int pid = 0;
      if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
      std::string line = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
      if (auto s = ParseProcStat(line)) table.push_back(*s);
    }
    closedir(d);
  }
  CpuSample out;
  out.ticks = SumTrees(groups, table);
  out.machine = ParseMachineStat(ReadAll("/proc/stat")).value_or(MachineTicks{});
  return out;
}

double CpuSplit::Of(const std::string& name) const {
  for (const auto& [n, v] : groups) {
    if (n == name) return v;
  }
  return 0;
}

CpuSplit ComputeCpuSplit(const std::vector<CpuGroup>& groups, const CpuSample& before,
                         const CpuSample& after, double window_s) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto secs = [&](uint64_t a, uint64_t b) { return b >= a ? (b - a) / hz : 0.0; };
  CpuSplit out;
  out.window_s = window_s;
  out.machine_busy_s = secs(before.machine.busy, after.machine.busy);
  double ours = 0;
  std::set<std::string> seen;
  for (const CpuGroup& g : groups) {
    if (!seen.insert(g.name).second) continue;
    auto b = before.ticks.find(g.name);
    auto a = after.ticks.find(g.name);
    const double s = secs(b == before.ticks.end() ? 0 : b->second,
                          a == after.ticks.end() ? 0 : a->second);
    ours += s;
    out.groups.emplace_back(g.name, s);
  }
  out.other_s = std::max(0.0, out.machine_busy_s - ours);
  return out;
}

void CpuSplit::Add(const CpuSplit& o) {
  window_s += o.window_s;
  machine_busy_s += o.machine_busy_s;
  other_s += o.other_s;
  for (const auto& [name, secs] : o.groups) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == name; });
    if (it == groups.end()) {
      groups.emplace_back(name, secs);
    } else {
      it->second += secs;
    }
  }
}

std::string FormatCpuSplit(const CpuSplit& split) {
  std::string out = absl::StrFormat("cpu_s window=%.1f cores=%u machine_busy=%.1f",
                                    split.window_s,
                                    std::max(1u, std::thread::hardware_concurrency()),
                                    split.machine_busy_s);
  for (const auto& [name, s] : split.groups) absl::StrAppendFormat(&out, " %s=%.1f", name, s);
  absl::StrAppendFormat(&out, " other=%.1f", split.other_s);
  return out;
}

std::string FormatCpuPerOp(const CpuSplit& split, long ops) {
  if (ops <= 0) return "";
  double stack = 0;
  std::string per;
  for (const auto& [name, s] : split.groups) {
    if (name == "loadgen" || s <= 0) continue;
    stack += s;
    absl::StrAppendFormat(&per, " %s=%.2f", name, 1000 * s / ops);
  }
  return absl::StrFormat("stack=%.2f%s loadgen=%.2f", 1000 * stack / ops, per,
                         1000 * split.Of("loadgen") / ops);
}

}  // namespace dvc::loadgen
