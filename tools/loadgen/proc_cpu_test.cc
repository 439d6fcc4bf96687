#include "tools/loadgen/proc_cpu.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace dvc::loadgen {
namespace {

// A real /proc/<pid>/stat line shape: fields 14–17 are utime stime cutime cstime.
std::string StatLine(int pid, const std::string& comm, int ppid, int ut, int st, int cut,
                     int cst) {
  return std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) +
         " 100 100 0 -1 4194560 2000 0 0 0 " + std::to_string(ut) + " " + std::to_string(st) +
         " " + std::to_string(cut) + " " + std::to_string(cst) +
         " 20 0 4 0 12345 1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
}

TEST(ParseProcStat, ReadsPidPpidAndAllFourTimes) {
  auto s = ParseProcStat(StatLine(4242, "sigverify", 17, 100, 20, 3, 4));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->ppid, 17);
  EXPECT_EQ(s->ticks, 127u);
}

TEST(ParseProcStat, CommandNameWithSpacesAndParentheses) {
  // The name is only delimited by the first '(' and the LAST ')'.
  auto s = ParseProcStat(StatLine(7, "postgres: app dvc_auth (idle) ) x", 5, 1, 2, 0, 0));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->ppid, 5);
  EXPECT_EQ(s->ticks, 3u);
}

TEST(ParseProcStat, MalformedLinesAreRejected) {
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_FALSE(ParseProcStat("12 (x S 1 2 3").has_value());      // no ')'
  EXPECT_FALSE(ParseProcStat("12 (x) S 1 2 3 4 5").has_value());  // too few fields
  EXPECT_FALSE(ParseProcStat("ab (x) S 1 100 100 0 -1 0 0 0 0 0 1 1 1 1 20").has_value());
  EXPECT_FALSE(ParseProcStat(StatLine(1, "x", 0, -5, 0, 0, 0)).has_value());  // negative time
}

TEST(ParseMachineStat, BusyExcludesIdleAndIowait) {
  auto m = ParseMachineStat(
      "cpu  100 5 50 1000 30 2 3 7 0 0\ncpu0 50 2 25 500 15 1 1 3 0 0\nintr 1 2\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->busy, 100u + 5 + 50 + 2 + 3 + 7);
  EXPECT_EQ(m->total, m->busy + 1000 + 30);
  EXPECT_FALSE(ParseMachineStat("cpu0 1 2 3 4 5 6 7 8\n").has_value());  // no aggregate line
  EXPECT_FALSE(ParseMachineStat("cpu 1 2 3\n").has_value());
}

TEST(ParseGroups, SkipsBadEntries) {
  auto g = ParseGroups("auth:10,sigverify:x,:5,postgres:0,pki:12,,accounts:-3");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].name, "auth");
  EXPECT_EQ(g[0].root_pid, 10);
  EXPECT_EQ(g[1].name, "pki");
  EXPECT_EQ(g[1].root_pid, 12);
}

TEST(SumTrees, CountsDescendantsOnceAndNothingElse) {
  // 1 init → 10 pki → 11 openssl ocsp → 12 (grandchild); 20 postgres → 21 backend;
  // 30 unrelated; 40 whose parent is unknown.
  std::vector<ProcStat> table = {{1, 0, 1000}, {10, 1, 5},  {11, 10, 7}, {12, 11, 1},
                                 {20, 1, 3},   {21, 20, 9}, {30, 1, 50}, {40, 99, 4}};
  auto sums = SumTrees({{"pki", 10}, {"postgres", 20}, {"gone", 777}}, table);
  EXPECT_EQ(sums["pki"], 13u);
  EXPECT_EQ(sums["postgres"], 12u);
  EXPECT_EQ(sums["gone"], 0u);  // listed, process absent: 0, still reported
  EXPECT_EQ(sums.size(), 3u);
}

TEST(SumTrees, NestedRootBelongsToItsOwnGroup) {
  // A listed process inside another listed tree counts for the nearest listed ancestor.
  std::vector<ProcStat> table = {{10, 1, 1}, {11, 10, 2}, {12, 11, 4}};
  auto sums = SumTrees({{"outer", 10}, {"inner", 11}}, table);
  EXPECT_EQ(sums["outer"], 1u);
  EXPECT_EQ(sums["inner"], 6u);
}

TEST(ComputeCpuSplit, OtherIsMachineBusyMinusGroups) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  CpuSample a, b;
  a.ticks = {{"auth", 0}, {"loadgen", 0}};
  b.ticks = {{"auth", static_cast<uint64_t>(2 * hz)}, {"loadgen", static_cast<uint64_t>(hz)}};
  a.machine = {0, 0};
  b.machine = {static_cast<uint64_t>(5 * hz), static_cast<uint64_t>(8 * hz)};
  // "gone" is absent from both samples; "auth" is listed twice.
  CpuSplit split = ComputeCpuSplit({{"auth", 1}, {"loadgen", 2}, {"auth", 3}, {"gone", 4}}, a, b,
                                   4.0);
  ASSERT_EQ(split.groups.size(), 3u);  // "auth" once
  EXPECT_DOUBLE_EQ(split.Of("auth"), 2.0);
  EXPECT_DOUBLE_EQ(split.Of("gone"), 0.0);
  EXPECT_DOUBLE_EQ(split.Of("nobody"), 0.0);
  EXPECT_DOUBLE_EQ(split.other_s, 2.0);
  std::string s = FormatCpuSplit(split);
  EXPECT_NE(s.find("window=4.0"), std::string::npos) << s;
  EXPECT_NE(s.find("machine_busy=5.0"), std::string::npos) << s;
  EXPECT_NE(s.find(" auth=2.0 loadgen=1.0 gone=0.0 other=2.0"), std::string::npos) << s;
}

TEST(ComputeCpuSplit, CountersGoingBackwardsCountZero) {
  // A tree whose process exited unreaped between the samples can shrink: never negative.
  CpuSample a, b;
  a.ticks = {{"pki", 500}};
  b.ticks = {{"pki", 100}};
  a.machine = {100, 200};
  b.machine = {50, 300};
  CpuSplit split = ComputeCpuSplit({{"pki", 1}}, a, b, 1.0);
  EXPECT_DOUBLE_EQ(split.Of("pki"), 0.0);
  EXPECT_DOUBLE_EQ(split.machine_busy_s, 0.0);
  EXPECT_DOUBLE_EQ(split.other_s, 0.0);
}

TEST(TakeCpuSample, SeesThisProcess) {
  // Burn a little CPU so our own tree has ticks.
  volatile uint64_t x = 0;
  for (int i = 0; i < 200000000; ++i) x += i;
  CpuSample s = TakeCpuSample({{"self", static_cast<int>(getpid())}});
  EXPECT_GT(s.ticks["self"], 0u);
  EXPECT_GT(s.machine.total, s.machine.busy);
}

TEST(CpuSplit, AddSumsWindowsAndGroupsByName) {
  CpuSplit a;
  a.window_s = 5;
  a.machine_busy_s = 9;
  a.other_s = 1;
  a.groups = {{"auth", 2}, {"accounts", 6}};
  CpuSplit b;
  b.window_s = 5;
  b.machine_busy_s = 8;
  b.other_s = 0.5;
  b.groups = {{"accounts", 5}, {"postgres", 1.5}};
  a.Add(b);
  EXPECT_DOUBLE_EQ(a.window_s, 10);
  EXPECT_DOUBLE_EQ(a.machine_busy_s, 17);
  EXPECT_DOUBLE_EQ(a.other_s, 1.5);
  EXPECT_DOUBLE_EQ(a.Of("auth"), 2);
  EXPECT_DOUBLE_EQ(a.Of("accounts"), 11);
  EXPECT_DOUBLE_EQ(a.Of("postgres"), 1.5);
  ASSERT_EQ(a.groups.size(), 3u);
  EXPECT_EQ(a.groups[2].first, "postgres");  // appended after the existing ones
}

}  // namespace
}  // namespace dvc::loadgen
