// sigverify: digital-signature verification. Today: loads the trust store, records it in its
// database, answers GetTrustStoreInfo and health checks.
//
//   sigverify [migrate] --database_url=URL [--grpc_port=50055] [--metrics_port=51055]
//             [--trust_store=FILE_OR_DIR,...] [--log_level=info]
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/sigverify/adapters/pg_trust_anchor_store.h"
#include "services/sigverify/api/sigverify_grpc.h"
#include "services/sigverify/domain/trust_store.h"
#include "services/sigverify/migrations.h"

namespace {

struct Config {
  dvc::server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  std::string trust_store;
};

int Run(int argc, char** argv) {
  dvc::server::InstallSignalMask();
  // `sigverify migrate …`: apply the migrations and exit (Kubernetes job).
  dvc::config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  Config cfg;
  cfg.base = dvc::server::ReadServiceFlags(src, "sigverify", 50055, 4);
  cfg.trust_store = src.String("trust_store", "",
                               "comma-separated PEM files or directories of trust anchors");
  absl::Status st = src.Finish();
  std::vector<std::string> problems;
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kFailedPrecondition) {  // --help
      std::printf("%s\n", std::string(st.message()).c_str());
      return 0;
    }
    problems.push_back(std::string(st.message()));
  }
  absl::StatusOr<std::vector<dvc::sigverify::TrustAnchor>> anchors =
      migrate_only ? std::vector<dvc::sigverify::TrustAnchor>{}
                   : dvc::sigverify::LoadTrustStore(cfg.trust_store);
  if (!anchors.ok()) problems.push_back(absl::StrCat("--trust_store: ", anchors.status().message()));
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "sigverify: %s\n", p.c_str());
    return 2;
  }

  dvc::log::Init("sigverify", dvc::log::LevelFromName(cfg.base.log_level));
  dvc::log::Info("config", {{"effective", src.Describe()}});

  dvc::pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  dvc::pg::MigrationReport report;
  if (absl::Status s = dvc::pg::Migrate(pool, dvc::sigverify::migrations::Files(), &report);
      !s.ok()) {
    dvc::log::Error("migrate.failed", {{"status", s.ToString()}});
    return 1;
  }
  dvc::log::Info("migrate.done", {{"version", absl::StrCat(report.current_version)},
                                  {"applied", absl::StrCat(report.applied.size())}});
  if (migrate_only) return 0;

  dvc::SystemClock clock;
  dvc::sigverify::PgTrustAnchorStore anchor_store(&pool);
  if (absl::Status s = anchor_store.RecordLoaded(*anchors, clock.Now()); !s.ok()) {
    dvc::log::Error("trust_store.record_failed", {{"status", s.ToString()}});
    return 1;
  }
  dvc::sigverify::TrustStore store(*std::move(anchors));
  for (const auto& a : store.anchors()) {
    dvc::log::Info("trust_store.anchor", {{"subject", a.subject},
                                          {"sha256", a.fingerprint_sha256}});
  }
  dvc::log::Info("trust_store.loaded", {{"anchors", absl::StrCat(store.anchors().size())}});

  dvc::metrics::Registry registry;
  registry.Gauge("sigverify_trust_anchors", "Trust anchors loaded")
      .Default()
      .Set(static_cast<double>(store.anchors().size()));
  dvc::pg::ExportPoolMetrics(pool, &registry);

  dvc::sigverify::SigverifyGrpc api(&store);
  dvc::server::GrpcServer server(
      dvc::server::Options{.service_name = "sigverify", .grpc_port = cfg.base.grpc_port,
                           .metrics_port = cfg.base.metrics_port},
      &registry);
  server.Register(&api);
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
