#include "services/idv_gateway/adapters/provider_metrics.h"

namespace dvc::idv {

ProviderMetrics::ProviderMetrics(metrics::Registry* registry)
    : registry_(registry),
      calls_(registry->Counter("idv_provider_calls_total", "Provider call attempts by outcome",
                               {"provider", "outcome"})),
      latency_(registry->Histogram("idv_provider_latency_seconds",
                                   "Latency of provider call attempts", {"provider"})),
      breaker_(registry->Gauge("idv_breaker_state",
                               "Circuit breaker per provider: 0 closed, 1 open, 2 half-open",
                               {"provider"})) {}

void ProviderMetrics::OnAttempt(const std::string& provider, const Attempt& a) {
  calls_.Labels({provider, OutcomeName(a.outcome)}).Inc();
  if (a.outcome != Outcome::kBreakerOpen) {
    latency_.Labels({provider}).Observe(absl::ToDoubleSeconds(a.latency));
  }
}

void ProviderMetrics::OnBreakerState(const std::string& provider, BreakerState s) {
  breaker_.Labels({provider}).Set(static_cast<double>(s));
}

void ProviderMetrics::WatchBreakers(std::vector<ResilientCaller*> callers) {
  for (ResilientCaller* c : callers) {
    breaker_.Labels({c->provider().name}).Set(static_cast<double>(c->breaker().state()));
  }
  registry_->AddCollectHook([this, callers] {
    for (ResilientCaller* c : callers) {
      breaker_.Labels({c->provider().name}).Set(static_cast<double>(c->breaker().state()));
    }
  });
}

}  // namespace dvc::idv
