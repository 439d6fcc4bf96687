// registration: composition root. Usage:
//   registration [migrate] --database_url=… --accounts_addr=… --otp_addr=… --idv_addr=…
//                --sigverify_addr=… --auth_addr=… --captcha_hmac_key_file=…
//                --pii_key_file=… [flags]
// `migrate` applies the migrations and exits 0 (Kubernetes job); otherwise the service serves
// until SIGINT/SIGTERM.
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/registration/adapters/grpc_clients.h"
#include "services/registration/adapters/keys.h"
#include "services/registration/adapters/pg_flow_store.h"
#include "services/registration/api/registration_grpc.h"
#include "services/registration/domain/registration.h"
#include "services/registration/migrations.h"

namespace dvc::registration {
namespace {

struct Config {
  server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  std::string accounts_addr;
  std::string otp_addr;
  std::string idv_addr;
  std::string sigverify_addr;
  std::string auth_addr;
  std::string captcha_hmac_key;
  std::string pii_key;
  absl::Duration flow_ttl;
  absl::Duration flow_retention;
  absl::Duration captcha_ttl;
  bool dev_expose_captcha = false;
};

// Deletes flows some time after they expired, every few minutes, until stopped.
class Purger final {
 public:
  Purger(PgFlowStore* store, pg::Pool* pool, Clock* clock, absl::Duration retention)
      : store_(store), pool_(pool), clock_(clock), retention_(retention),
        thread_([this] { Run(); }) {}
  ~Purger() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      l.unlock();
      auto n = store_->PurgeExpired(clock_->Now() - retention_);
      if (!n.ok()) {
        log::Warn("registration.purge_failed", {{"error", std::string(n.status().message())}});
      } else if (*n > 0) {
        log::Info("registration.flows_purged", {{"count", std::to_string(*n)}});
      }
      auto c = captcha::PurgeExpiredCaptchas(pool_, clock_->Now() - absl::Hours(1));
      if (!c.ok()) log::Warn("captcha_purge.failed", {{"error", std::string(c.status().message())}});
      l.lock();
      cv_.wait_for(l, std::chrono::minutes(10), [this] { return stop_; });
    }
  }

  PgFlowStore* store_;
  pg::Pool* pool_;
  Clock* clock_;
  absl::Duration retention_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

int Main(int argc, char** argv) {
  server::InstallSignalMask();

  // `registration migrate`: apply the migrations and exit (Kubernetes job).
  config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  Config cfg;
  cfg.base = server::ReadServiceFlags(src, "registration", 50051, 16);
  cfg.accounts_addr = src.String("accounts_addr", "", "accounts service host:port", true);
  cfg.otp_addr = src.String("otp_addr", "", "otp service host:port", true);
  cfg.idv_addr = src.String("idv_addr", "", "idv_gateway service host:port", true);
  cfg.sigverify_addr = src.String("sigverify_addr", "", "sigverify service host:port", true);
  cfg.auth_addr = src.String("auth_addr", "", "auth service host:port (token introspection)",
                             true);
  cfg.captcha_hmac_key = src.Secret("captcha_hmac_key", "key of the captcha answers' HMAC", true);
  cfg.pii_key = src.Secret("pii_key", "key material sealing personal data at rest (base64/hex)",
                           true);
  cfg.flow_ttl = src.Duration("flow_ttl", absl::Minutes(30), "lifetime of a registration flow");
  cfg.flow_retention = src.Duration("flow_retention", absl::Hours(24),
                                    "flows are deleted this long after they expire");
  cfg.captcha_ttl = src.Duration("captcha_ttl", absl::Minutes(5), "lifetime of a captcha");
  cfg.dev_expose_captcha = src.Bool("dev_expose_captcha", false,
                                    "return the captcha answer (dev/test stacks only)");

  std::vector<std::string> problems;
  if (absl::Status s = src.Finish(); !s.ok()) problems.push_back(std::string(s.message()));
  absl::StatusOr<PiiKeys> keys = DerivePiiKeys(cfg.pii_key);
  if (!cfg.pii_key.empty() && !keys.ok()) problems.push_back(std::string(keys.status().message()));
  if (cfg.flow_ttl <= absl::ZeroDuration()) problems.push_back("flow_ttl: must be positive");
  if (cfg.captcha_ttl <= absl::ZeroDuration()) problems.push_back("captcha_ttl: must be positive");
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "registration: %s\n", p.c_str());
    return 2;
  }

  log::Init("registration", log::LevelFromName(cfg.base.log_level));
  log::Info("registration.config", {{"config", src.Describe()}});

  pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  pg::MigrationReport report;
  if (absl::Status s = pg::Migrate(pool, migrations::Files(), &report); !s.ok()) {
    log::Error("registration.migrate_failed", {{"error", std::string(s.message())}});
    return 1;
  }
  log::Info("registration.migrated",
            {{"version", std::to_string(report.current_version)},
             {"applied", std::to_string(report.applied.size())}});
  if (migrate_only) return 0;

  SystemClock clock;
  crypto::OsRandom random;
  auto cipher = crypto::FieldCipher::Create("r1", keys->seal_key, &random);
  if (!cipher.ok()) {
    log::Error("registration.cipher_failed", {{"error", std::string(cipher.status().message())}});
    return 1;
  }
  PgFlowStore store(&pool, &*cipher);
  captcha::IssuerOptions captcha_options;
  captcha_options.ttl = cfg.captcha_ttl;
  captcha_options.expose_answer = cfg.dev_expose_captcha;
  auto captcha = captcha::NewPgCaptchaChecker(&pool, &clock, &random, cfg.captcha_hmac_key,
                                              captcha_options);
  GrpcIdvClient idv(server::Dial(cfg.idv_addr));
  GrpcAccountsClient accounts(server::Dial(cfg.accounts_addr));
  GrpcOtpClient otp(server::Dial(cfg.otp_addr));
  GrpcSigverifyClient sigverify(server::Dial(cfg.sigverify_addr));
  GrpcAuthClient auth(server::Dial(cfg.auth_addr));
  Registration domain(&store, captcha.get(), &idv, &accounts, &otp, &sigverify, &auth, &clock,
                      &random, Options{cfg.flow_ttl, keys->blind_index_key});
  RegistrationGrpc api(&domain);

  metrics::Registry registry;
  pg::ExportPoolMetrics(pool, &registry);

  server::Options options;
  options.service_name = "registration";
  options.grpc_port = cfg.base.grpc_port;
  options.metrics_port = cfg.base.metrics_port;
  server::GrpcServer grpc_server(options, &registry);
  grpc_server.Register(&api);
  if (absl::Status s = grpc_server.Start(); !s.ok()) {
    log::Error("registration.start_failed", {{"error", std::string(s.message())}});
    return 1;
  }
  Purger purger(&store, &pool, &clock, cfg.flow_retention);
  if (cfg.dev_expose_captcha) {
    log::Warn("registration.dev_expose_captcha", {{"note", "captcha answers are exposed"}});
  }
  log::Info("registration.serving", {{"grpc_port", std::to_string(grpc_server.grpc_port())},
                                     {"metrics_port", std::to_string(grpc_server.metrics_port())}});
  server::WaitForTerminationSignal();
  log::Info("registration.stopping");
  grpc_server.Shutdown();
  return 0;
}

}  // namespace
}  // namespace dvc::registration

int main(int argc, char** argv) { return dvc::registration::Main(argc, argv); }
