#include "libs/metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace dvc::metrics {
namespace {

TEST(Metrics, CounterWithLabelsRenders) {
  Registry r;
  auto& c = r.Counter("rpc_total", "RPCs", {"method", "code"});
  c.Labels({"/a.B/C", "OK"}).Inc();
  c.Labels({"/a.B/C", "OK"}).Inc(2);
  c.Labels({"/a.B/C", "NOT_FOUND"}).Inc();
  std::string t = r.Render();
  EXPECT_NE(t.find("# TYPE rpc_total counter"), std::string::npos);
  EXPECT_NE(t.find("rpc_total{method=\"/a.B/C\",code=\"OK\"} 3"), std::string::npos);
  EXPECT_NE(t.find("rpc_total{method=\"/a.B/C\",code=\"NOT_FOUND\"} 1"), std::string::npos);
}

TEST(Metrics, CountersNeverDecrease) {
  Registry r;
  auto& c = r.Counter("c", "c").Default();
  c.Inc(5);
  c.Inc(-3);
  EXPECT_EQ(c.Value(), 5);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.Histogram("lat_seconds", "latency", {}, {0.1, 1}).Default();
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string t = r.Render();
  EXPECT_NE(t.find("lat_seconds_bucket{le=\"0.1\"} 1"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{le=\"1\"} 2"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_count 3"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_sum 5.55"), std::string::npos) << t;
}

TEST(Metrics, GaugesAndCollectHooks) {
  Registry r;
  auto& g = r.Gauge("pool_in_use", "connections in use").Default();
  int calls = 0;
  r.AddCollectHook([&] { g.Set(++calls * 10); });
  EXPECT_NE(r.Render().find("pool_in_use 10"), std::string::npos);
  EXPECT_NE(r.Render().find("pool_in_use 20"), std::string::npos);
}

TEST(Metrics, LabelValuesEscaped) {
  Registry r;
  r.Counter("x", "x", {"l"}).Labels({"a\"b\\c"}).Inc();
  EXPECT_NE(r.Render().find("x{l=\"a\\\"b\\\\c\"} 1"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.Counter("n", "n").Default();
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back([&] { for (int j = 0; j < 10000; ++j) c.Inc(); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 40000);
}

}  // namespace
}  // namespace dvc::metrics
