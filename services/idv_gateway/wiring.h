// The object graph of idv_gateway (adapters → callers → domain → API), shared by main.cc and
// the service test so that the test drives exactly what production runs.
#pragma once

#include <memory>
#include <string>

#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/http/http_client.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"
#include "services/idv_gateway/adapters/http_population.h"
#include "services/idv_gateway/adapters/http_telco.h"
#include "services/idv_gateway/adapters/pg_lookup_audit.h"
#include "services/idv_gateway/adapters/provider_metrics.h"
#include "services/idv_gateway/api/idv_grpc.h"
#include "services/idv_gateway/domain/idv.h"
#include "services/idv_gateway/domain/resilient_call.h"

namespace dvc::idv {

struct WiringOptions {
  std::string telco_url;
  std::string population_url;
  RetryOptions retry;
  BreakerOptions breaker;
};

class Wiring final {
 public:
  // Every pointer must outlive the Wiring.
  Wiring(const WiringOptions& options, pg::Pool* pool, metrics::Registry* registry, Clock* clock,
         Sleeper* sleeper, crypto::Random* random);

  IdvGrpc& api() { return api_; }
  ResilientCaller& telco_caller() { return telco_caller_; }
  ResilientCaller& population_caller() { return population_caller_; }

 private:
  http::HttpClient http_;
  ProviderMetrics metrics_;
  HttpTelcoProvider telco_;
  HttpPopulationProvider population_;
  PgLookupAudit audit_;
  ResilientCaller telco_caller_;
  ResilientCaller population_caller_;
  IdvGateway gateway_;
  IdvGrpc api_;
};

}  // namespace dvc::idv
