// idv_gateway: identity-verification façade over the providers (telco subscriber check,
// population database; BHXH and VNPost later) with timeouts, retries and circuit breakers.
//
//   idv_gateway [migrate] --database_url=URL --telco_url=URL --population_url=URL
//               [--grpc_port=50054] [--metrics_port=51054] [--provider_timeout=3s]
//               [--provider_retries=2] [--provider_budget=8s] [--breaker_failures=5]
//               [--breaker_open=30s] [--db_pool_size=8] [--log_level=info]
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/random.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/idv_gateway/migrations.h"
#include "services/idv_gateway/wiring.h"

namespace {

struct Config {
  dvc::server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  dvc::idv::WiringOptions wiring;
};

bool IsHttpUrl(const std::string& u) {
  return (absl::StartsWith(u, "http://") && u.size() > 7) ||
         (absl::StartsWith(u, "https://") && u.size() > 8);
}

int Run(int argc, char** argv) {
  dvc::server::InstallSignalMask();
  // `idv_gateway migrate …`: apply the migrations and exit (Kubernetes job).
  dvc::config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  Config cfg;
  cfg.base = dvc::server::ReadServiceFlags(src, "idv_gateway", 50054, 8);
  auto& w = cfg.wiring;
  // The provider URLs are required to serve, not to migrate.
  w.telco_url = src.String("telco_url", "", "base URL of the telco subscriber-check API",
                           /*required=*/!migrate_only);
  w.population_url = src.String("population_url", "", "base URL of the population database API",
                                /*required=*/!migrate_only);
  w.retry.attempt_timeout = src.Duration("provider_timeout", absl::Seconds(3),
                                         "timeout of one provider call");
  w.retry.max_retries = src.Int("provider_retries", 2,
                                "retries of an idempotent provider call after a retryable failure",
                                0, 10);
  w.retry.budget = src.Duration("provider_budget", absl::Seconds(8),
                                "overall time for a provider call including retries");
  w.breaker.failure_threshold = src.Int(
      "breaker_failures", 5, "consecutive provider failures that open its circuit breaker", 1,
      1000000);
  w.breaker.open_for = src.Duration("breaker_open", absl::Seconds(30),
                                    "how long an open breaker refuses calls before a trial");
  absl::Status st = src.Finish();
  std::vector<std::string> problems;
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kFailedPrecondition) {  // --help
      std::printf("%s\n", std::string(st.message()).c_str());
      return 0;
    }
    problems.push_back(std::string(st.message()));
  }
  if (!migrate_only) {
    if (!w.telco_url.empty() && !IsHttpUrl(w.telco_url)) {
      problems.push_back("--telco_url: must be an http:// or https:// URL");
    }
    if (!w.population_url.empty() && !IsHttpUrl(w.population_url)) {
      problems.push_back("--population_url: must be an http:// or https:// URL");
    }
  }
  if (w.retry.attempt_timeout <= absl::ZeroDuration()) {
    problems.push_back("--provider_timeout: must be positive");
  }
  if (w.retry.budget <= absl::ZeroDuration()) {
    problems.push_back("--provider_budget: must be positive");
  }
  if (w.breaker.open_for <= absl::ZeroDuration()) {
    problems.push_back("--breaker_open: must be positive");
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "idv_gateway: %s\n", p.c_str());
    return 2;
  }

  dvc::log::Init("idv_gateway", dvc::log::LevelFromName(cfg.base.log_level));
  dvc::log::Info("config", {{"effective", src.Describe()}});
  if (w.retry.budget < w.retry.attempt_timeout) {
    dvc::log::Warn("config.budget_below_timeout",
                   {{"detail", "provider_budget caps every attempt below provider_timeout"}});
  }

  dvc::pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  dvc::pg::MigrationReport report;
  if (absl::Status s = dvc::pg::Migrate(pool, dvc::idv::migrations::Files(), &report); !s.ok()) {
    dvc::log::Error("migrate.failed", {{"status", s.ToString()}});
    return 1;
  }
  dvc::log::Info("migrate.done", {{"version", absl::StrCat(report.current_version)},
                                  {"applied", absl::StrCat(report.applied.size())}});
  if (migrate_only) return 0;

  dvc::SystemClock clock;
  dvc::idv::RealSleeper sleeper;
  dvc::crypto::OsRandom random;
  dvc::metrics::Registry registry;
  dvc::pg::ExportPoolMetrics(pool, &registry);

  dvc::idv::Wiring wiring(cfg.wiring, &pool, &registry, &clock, &sleeper, &random);
  dvc::server::GrpcServer server(
      dvc::server::Options{.service_name = "idv_gateway", .grpc_port = cfg.base.grpc_port,
                           .metrics_port = cfg.base.metrics_port},
      &registry);
  server.Register(&wiring.api());
  if (absl::Status s = server.Start(); !s.ok()) {
    dvc::log::Error("server.start_failed", {{"status", s.ToString()}});
    return 1;
  }
  const int sig = dvc::server::WaitForTerminationSignal();
  dvc::log::Info("server.stopping", {{"signal", absl::StrCat(sig)}});
  server.Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
