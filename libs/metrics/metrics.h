// Prometheus metrics with the concepts of prometheus-cpp (families of counters, gauges and
// histograms with labels) and its text exposition format, so the module can be swapped for
// prometheus-cpp later. prometheus-cpp itself is not packaged for Debian.
//
//   metrics::Registry reg;
//   auto& rpcs = reg.Counter("grpc_server_handled_total", "RPCs completed", {"method", "code"});
//   rpcs.Labels({"/dvc.otp.v1.OtpService/SendOtp", "OK"}).Inc();
//   std::string text = reg.Render();   // served on /metrics
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dvc::metrics {

class CounterCell final {
 public:
  void Inc(double v = 1) { Add(v); }
  double Value() const { return value_.load(); }

 private:
  void Add(double v);
  std::atomic<double> value_{0};
};

class GaugeCell final {
 public:
  void Set(double v) { value_.store(v); }
  void Add(double v);
  double Value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class HistogramCell final {
 public:
  explicit HistogramCell(const std::vector<double>* bounds);
  void Observe(double v);
  // Snapshot: cumulative counts per bound (+Inf last), sum, count.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  const std::vector<double>* bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> buckets_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

template <typename Cell>
class Family final {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Cell>()> make)
      : name_(std::move(name)), help_(std::move(help)),
        label_names_(std::move(label_names)), make_(std::move(make)) {}
  // Returns the cell for these label values (same order as the label names); cells live as
  // long as the registry, so callers may keep the reference.
  Cell& Labels(const std::vector<std::string>& values);
  Cell& Default() { return Labels({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : cells_) f(k, *v);
  }

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Cell>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Cell>> cells_;
};

// Default latency buckets in seconds (0.5 ms … 10 s).
const std::vector<double>& DefaultLatencyBuckets();

class Registry final {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<CounterCell>& Counter(const std::string& name, const std::string& help,
                               std::vector<std::string> labels = {});
  Family<GaugeCell>& Gauge(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {});
  Family<HistogramCell>& Histogram(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels = {},
                                   std::vector<double> bounds = DefaultLatencyBuckets());
  // Called at the start of every Render(), e.g. to sample pool usage or outbox lag into gauges.
  void AddCollectHook(std::function<void()> hook);

  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family<CounterCell>>> counters_;
  std::map<std::string, std::unique_ptr<Family<GaugeCell>>> gauges_;
  std::map<std::string, std::unique_ptr<Family<HistogramCell>>> histograms_;
  std::map<std::string, std::unique_ptr<std::vector<double>>> bounds_;
  std::vector<std::function<void()>> hooks_;
};

template <typename Cell>
Cell& Family<Cell>::Labels(const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = cells_[values];
  if (!slot) slot = make_();
  return *slot;
}

}  // namespace dvc::metrics
