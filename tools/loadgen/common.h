// Small helpers shared by the load generator's modes.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace dvc::loadgen {

// An address from the environment (stack.env written by tools/lib.sh); exits when unset.
inline std::string Env(const char* n) {
  const char* v = std::getenv(n);
  if (v == nullptr) {
    std::fprintf(stderr, "loadgen: %s is not set (run through tools/bench)\n", n);
    std::exit(2);
  }
  return v;
}

// Latencies in milliseconds, collected from many threads.
struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard<std::mutex> l(mu);
    ms.push_back(v);
  }
  // Nearest-rank percentile, p in [0, 1]; 0 when empty.
  double Percentile(double p) {
    std::lock_guard<std::mutex> l(mu);
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    size_t i = std::min(ms.size() - 1, static_cast<size_t>(p * (ms.size() - 1) + 0.5));
    return ms[i];
  }
};

}  // namespace dvc::loadgen
