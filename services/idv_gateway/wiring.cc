#include "services/idv_gateway/wiring.h"

namespace dvc::idv {

Wiring::Wiring(const WiringOptions& options, pg::Pool* pool, metrics::Registry* registry,
               Clock* clock, Sleeper* sleeper, crypto::Random* random)
    : metrics_(registry),
      telco_(&http_, options.telco_url),
      population_(&http_, options.population_url),
      audit_(pool),
      telco_caller_(ProviderInfo{"telco", "nhà mạng", "the mobile carrier"}, options.retry,
                    options.breaker, clock, sleeper, random, &metrics_),
      population_caller_(ProviderInfo{"population", "Cơ sở dữ liệu quốc gia về dân cư",
                                      "the national population database"},
                         options.retry, options.breaker, clock, sleeper, random, &metrics_),
      gateway_(&telco_, &telco_caller_, &population_, &population_caller_, &audit_, clock),
      api_(&gateway_) {
  metrics_.WatchBreakers({&telco_caller_, &population_caller_});
}

}  // namespace dvc::idv
