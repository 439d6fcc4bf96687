#include "libs/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dvc::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load();
  while (!a.compare_exchange_weak(cur, cur + v)) {
  }
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

std::string EscapeLabel(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

void CounterCell::Add(double v) {
  if (v < 0) return;  // counters only go up
  AtomicAdd(value_, v);
}

void GaugeCell::Add(double v) { AtomicAdd(value_, v); }

HistogramCell::HistogramCell(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(bounds->size() + 1, 0) {}

void HistogramCell::Observe(double v) {
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  std::lock_guard<std::mutex> l(mu_);
  buckets_[i]++;
  sum_ += v;
  count_++;
}

void HistogramCell::Snapshot(std::vector<uint64_t>* cumulative, double* sum,
                             uint64_t* count) const {
  std::lock_guard<std::mutex> l(mu_);
  cumulative->assign(buckets_.size(), 0);
  uint64_t acc = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    acc += buckets_[i];
    (*cumulative)[i] = acc;
  }
  *sum = sum_;
  *count = count_;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

Family<CounterCell>& Registry::Counter(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels) {
  std::lock_guard<std::mutex> l(mu_);
  auto& f = counters_[name];
  if (!f) {
    f = std::make_unique<Family<CounterCell>>(name, help, std::move(labels),
                                              [] { return std::make_unique<CounterCell>(); });
  }
  return *f;
}

Family<GaugeCell>& Registry::Gauge(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  std::lock_guard<std::mutex> l(mu_);
  auto& f = gauges_[name];
  if (!f) {
    f = std::make_unique<Family<GaugeCell>>(name, help, std::move(labels),
                                            [] { return std::make_unique<GaugeCell>(); });
  }
  return *f;
}

Family<HistogramCell>& Registry::Histogram(const std::string& name, const std::string& help,
                                           std::vector<std::string> labels,
                                           std::vector<double> bounds) {
  std::lock_guard<std::mutex> l(mu_);
  auto& f = histograms_[name];
  if (!f) {
    std::sort(bounds.begin(), bounds.end());
    auto& b = bounds_[name];
    b = std::make_unique<std::vector<double>>(std::move(bounds));
    const std::vector<double>* bp = b.get();
    f = std::make_unique<Family<HistogramCell>>(
        name, help, std::move(labels), [bp] { return std::make_unique<HistogramCell>(bp); });
  }
  return *f;
}

void Registry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> l(mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> l(mu_);
    hooks = hooks_;
  }
  for (auto& h : hooks) h();
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [name, f] : counters_) {
    out += "# HELP " + name + " " + f->help() + "\n# TYPE " + name + " counter\n";
    f->ForEach([&](const std::vector<std::string>& labels, const CounterCell& c) {
      out += name + LabelSet(f->label_names(), labels) + " " + FormatValue(c.Value()) + "\n";
    });
  }
  for (const auto& [name, f] : gauges_) {
    out += "# HELP " + name + " " + f->help() + "\n# TYPE " + name + " gauge\n";
    f->ForEach([&](const std::vector<std::string>& labels, const GaugeCell& g) {
      out += name + LabelSet(f->label_names(), labels) + " " + FormatValue(g.Value()) + "\n";
    });
  }
  for (const auto& [name, f] : histograms_) {
    const std::vector<double>& bounds = *bounds_.at(name);
    out += "# HELP " + name + " " + f->help() + "\n# TYPE " + name + " histogram\n";
    f->ForEach([&](const std::vector<std::string>& labels, const HistogramCell& h) {
      std::vector<uint64_t> cum;
      double sum;
      uint64_t count;
      h.Snapshot(&cum, &sum, &count);
      for (size_t i = 0; i < cum.size(); ++i) {
        std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
        out += name + "_bucket" + LabelSet(f->label_names(), labels, "le", le) + " " +
               std::to_string(cum[i]) + "\n";
      }
      out += name + "_sum" + LabelSet(f->label_names(), labels) + " " + FormatValue(sum) + "\n";
      out += name + "_count" + LabelSet(f->label_names(), labels) + " " + std::to_string(count) +
             "\n";
    });
  }
  return out;
}

}  // namespace dvc::metrics
