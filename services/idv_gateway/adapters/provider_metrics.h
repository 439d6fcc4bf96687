// Prometheus metrics of provider calls, fed by every ResilientCaller:
//   idv_provider_calls_total{provider,outcome}   attempts by outcome (ok, rejected, error,
//                                                 unavailable, timeout, breaker_open)
//   idv_provider_latency_seconds{provider}       latency of the attempts that reached the provider
//   idv_breaker_state{provider}                  0 closed, 1 open, 2 half-open
#pragma once

#include <string>
#include <vector>

#include "libs/metrics/metrics.h"
#include "services/idv_gateway/domain/resilient_call.h"

namespace dvc::idv {

class ProviderMetrics final : public CallListener {
 public:
  explicit ProviderMetrics(metrics::Registry* registry);

  void OnAttempt(const std::string& provider, const Attempt& a) override;
  void OnBreakerState(const std::string& provider, BreakerState s) override;
  // Samples each caller's breaker into the gauge at scrape time (an open breaker turns
  // half-open by the passing of time, without any call).
  void WatchBreakers(std::vector<ResilientCaller*> callers);

 private:
  metrics::Registry* registry_;
  metrics::Family<metrics::CounterCell>& calls_;
  metrics::Family<metrics::HistogramCell>& latency_;
  metrics::Family<metrics::GaugeCell>& breaker_;
};

}  // namespace dvc::idv
