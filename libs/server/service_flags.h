// The flags every service has, declared once: gRPC and metrics ports, its database, its pool
// size and its log level. Each main reads them first, then its own.
#pragma once

#include <string>

#include "libs/config/config.h"

namespace dvc::server {

struct ServiceFlags {
  int grpc_port = 0;
  int metrics_port = 0;      // default grpc_port + 1000; -1 disables the HTTP side port
  std::string database_url;  // this service's own database
  int db_pool_size = 0;
  std::string log_level;     // debug | info | warn | error
};

ServiceFlags ReadServiceFlags(config::Source& src, const std::string& service,
                              int default_grpc_port, int default_pool_size);

}  // namespace dvc::server
