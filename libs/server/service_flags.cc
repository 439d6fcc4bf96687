#include "libs/server/service_flags.h"

#include "libs/logging/log.h"

namespace dvc::server {

ServiceFlags ReadServiceFlags(config::Source& src, const std::string& service,
                              int default_grpc_port, int default_pool_size) {
  ServiceFlags f;
  f.grpc_port = src.Int("grpc_port", default_grpc_port, "gRPC listen port (0: any free port)", 0,
                        65535);
  f.metrics_port = src.Int("metrics_port", f.grpc_port == 0 ? 0 : f.grpc_port + 1000,
                           "HTTP port of /metrics and /healthz (-1: off)", -1, 65535);
  f.database_url = src.String("database_url", "", "PostgreSQL URL of " + service + "'s database",
                              /*required=*/true);
  f.db_pool_size = src.Int("db_pool_size", default_pool_size, "PostgreSQL connections", 1, 512);
  f.log_level = src.Enum("log_level", "info", "log verbosity", log::kLevelNames);
  return f;
}

}  // namespace dvc::server
