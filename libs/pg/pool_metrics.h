// Prometheus gauges for a connection pool, shared by every service: db_pool_connections_in_use,
// db_pool_connections_open and db_pool_connections_max, sampled at each /metrics scrape.
#pragma once

#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"

namespace dvc::pg {

// `pool` must outlive `registry`'s scrapes.
inline void ExportPoolMetrics(const Pool& pool, metrics::Registry* registry) {
  auto& in_use = registry->Gauge("db_pool_connections_in_use", "Leased PostgreSQL connections");
  auto& open = registry->Gauge("db_pool_connections_open", "Open PostgreSQL connections");
  auto& max = registry->Gauge("db_pool_connections_max", "PostgreSQL pool capacity");
  registry->AddCollectHook([&pool, &in_use, &open, &max] {
    in_use.Default().Set(pool.InUse());
    open.Default().Set(pool.Open());
    max.Default().Set(pool.Size());
  });
}

}  // namespace dvc::pg
