// auth — composition root: config → PostgreSQL (migrations) → signing keys → clients of accounts,
// otp and sigverify → domain → gRPC server, and the consumer of account events (password change → the
// account's sessions end). `auth migrate` applies the migrations and exits (Kubernetes
// job).
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/random.h"
#include "libs/kafka/consumer.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/call.h"
#include "libs/server/callback.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/auth/adapters/grpc_clients.h"
#include "services/auth/adapters/kafka_account_events.h"
#include "services/auth/adapters/key_dir.h"
#include "services/auth/adapters/pg_auth_store.h"
#include "services/auth/api/auth_grpc.h"
#include "services/auth/domain/auth.h"
#include "services/auth/migrations.h"

namespace dvc::auth {
namespace {

struct Config {
  server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  std::string accounts_addr, otp_addr, sigverify_addr, signing_key_dir;
  std::string kafka_brokers, kafka_group;
  std::vector<std::string> trusted_proxies;
  std::string captcha_hmac_key, token_hmac_key;
  bool dev_expose_captcha;
  absl::Duration accounts_deadline, otp_deadline, sigverify_deadline, signing_key_reload,
      purge_interval, certificate_poll_interval;
  KeyDirOptions signing_keys;
  AuthOptions auth;
};

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "auth: %s\n", std::string(s.message()).c_str());
  return 2;
}

int Run(int argc, char** argv) {
  server::InstallSignalMask();
  config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  const bool serve = !migrate_only;

  Config cfg;
  cfg.base = server::ReadServiceFlags(src, "auth", 50052, 16);
  cfg.accounts_addr = src.String("accounts_addr", "", "accounts service host:port", serve);
  cfg.otp_addr = src.String("otp_addr", "", "otp service host:port", serve);
  cfg.sigverify_addr = src.String(
      "sigverify_addr", "",
      "sigverify service host:port (certificate login); empty = certificate login disabled");
  cfg.sigverify_deadline = src.Duration(
      "sigverify_deadline", absl::Seconds(10),
      "deadline of calls to sigverify (covers its OCSP/CRL fetches and the MSSP/SmartCA call)");
  cfg.certificate_poll_interval =
      src.Duration("certificate_poll_interval", absl::Seconds(2),
                   "PollCertificateLogin interval suggested to clients (SIM / SmartCA)");
  cfg.kafka_brokers = src.String("kafka_brokers", "",
                                 "Kafka bootstrap servers (host:port,...) for account events",
                                 serve);
  cfg.kafka_group = src.String("kafka_group", "auth", "Kafka consumer group of auth");
  cfg.accounts_deadline =
      src.Duration("accounts_deadline", absl::Seconds(3), "deadline of calls to accounts");
  // Longer than otp's SMS gateway timeout (5s): SendOtp waits for the delivery.
  cfg.otp_deadline = src.Duration("otp_deadline", absl::Seconds(8), "deadline of calls to otp");
  cfg.trusted_proxies = absl::StrSplit(
      src.String("trusted_proxies", "",
                 "comma-separated peer IPs (the REST gateway) allowed to state the client IP"),
      ',', absl::SkipEmpty());
  cfg.captcha_hmac_key = src.Secret("captcha_hmac_key", "HMAC key of captcha answers", serve);
  cfg.token_hmac_key =
      src.Secret("token_hmac_key", "secret for refresh-token HMACs and blind indexes", serve);
  cfg.signing_key_dir =
      src.String("signing_key_dir", "", "directory of ES256 PKCS#8 PEM keys", serve);
  cfg.signing_key_reload = src.Duration("signing_key_reload", absl::Seconds(60),
                                        "how often the key directory is re-read");
  cfg.signing_keys.publish_delay = src.Duration(
      "signing_key_publish_delay", 2 * cfg.signing_key_reload,
      "a new signing key only verifies (and is in the JWKS) for this long before it signs; "
      "must exceed the time a key rotation takes to reach every replica");
  cfg.signing_keys.autogenerate =
      src.Bool("signing_key_autogenerate", false,
               "create a first signing key when the directory has none (single-instance "
               "dev/test stacks only)");
  cfg.dev_expose_captcha =
      src.Bool("dev_expose_captcha", false, "return captcha answers (dev/test stacks only)");
  cfg.purge_interval =
      src.Duration("purge_interval", absl::Minutes(10), "how often expired rows are deleted");

  AuthOptions& a = cfg.auth;
  a.issuer = src.String("issuer", "https://dichvucong.gov.vn", "JWT iss");
  a.audience = src.String("audience", "dvc", "JWT aud");
  a.access_token_ttl = src.Duration("access_token_ttl", absl::Minutes(5), "access token lifetime");
  a.refresh_idle_ttl =
      src.Duration("refresh_idle_ttl", absl::Minutes(30), "session idle timeout (refresh token)");
  a.session_max_ttl = src.Duration("session_max_ttl", absl::Hours(12), "session absolute timeout");
  a.refresh_reuse_grace = src.Duration(
      "refresh_reuse_grace", absl::Seconds(30),
      "a rotated refresh token presented again within this time, while its successor is unused, "
      "gets a new successor instead of revoking the session (retries, two tabs); 0 = off");
  a.login_flow_ttl = src.Duration("login_flow_ttl", absl::Minutes(10), "login flow lifetime");
  a.session_cache_ttl = src.Duration("session_cache_ttl", absl::Seconds(1),
                                     "introspection cache of session revocation state");
  ThrottleOptions& t = a.throttle;
  t.free_failures = src.Int("login_free_failures", 5,
                            "password failures per (identifier, IP) before delays", 1, 1000);
  t.identifier_free_failures =
      src.Int("login_identifier_free_failures", 20,
              "password failures per identifier (all IPs) before delays", 1, 100000);
  t.max_delay = src.Duration("login_max_delay", absl::Minutes(15), "cap of the doubling delay");
  t.forget_after = src.Duration("login_failure_forget", absl::Hours(24),
                                "quiet time after which failure counters start over");
  t.trusted_ip_ttl = src.Duration("login_trusted_ip_ttl", absl::Hours(24 * 30),
                                  "an address with a successful login is exempt from the "
                                  "identifier-wide delay for this long");
  t.ip_limit = src.Int("login_ip_limit", 300, "logins per IP per window", 1, 1000000);
  t.ip_window = src.Duration("login_ip_window", absl::Minutes(5), "window of login_ip_limit");
  t.subscriber_limit =
      src.Int("login_subscriber_limit", 3,
              "SIM / SmartCA signing requests per subscriber per window", 1, 1000);
  t.subscriber_window = src.Duration("login_subscriber_window", absl::Minutes(5),
                                     "window of login_subscriber_limit");
  if (auto s = src.Finish(); !s.ok()) return Fail(s);
  log::Init("auth", log::LevelFromName(cfg.base.log_level));

  std::vector<std::string> problems;
  if (serve && cfg.token_hmac_key.size() < 16) problems.push_back("token_hmac_key: too short");
  if (serve && cfg.captcha_hmac_key.size() < 16) problems.push_back("captcha_hmac_key: too short");
  if (a.access_token_ttl <= absl::ZeroDuration() || a.refresh_idle_ttl <= absl::ZeroDuration() ||
      a.session_max_ttl < a.refresh_idle_ttl) {
    problems.push_back("TTLs: need access_token_ttl > 0, 0 < refresh_idle_ttl <= session_max_ttl");
  }
  if (a.refresh_reuse_grace < absl::ZeroDuration() || a.refresh_reuse_grace > absl::Seconds(300)) {
    problems.push_back("refresh_reuse_grace: must be between 0 and 300s");
  }
  if (t.max_delay < t.first_delay) problems.push_back("login_max_delay: must be >= 1s");
  if (t.ip_window < absl::Seconds(1)) problems.push_back("login_ip_window: must be >= 1s");
  if (t.subscriber_window < absl::Seconds(1)) {
    problems.push_back("login_subscriber_window: must be >= 1s");
  }
  if (cfg.sigverify_deadline <= absl::ZeroDuration()) {
    problems.push_back("sigverify_deadline: must be > 0");
  }
  if (cfg.certificate_poll_interval < absl::Milliseconds(100) ||
      cfg.certificate_poll_interval > absl::Minutes(1)) {
    problems.push_back("certificate_poll_interval: must be between 100ms and 1m");
  }
  if (cfg.signing_key_reload < absl::Seconds(1)) {
    problems.push_back("signing_key_reload: must be >= 1s");
  }
  if (cfg.signing_keys.publish_delay < absl::ZeroDuration()) {
    problems.push_back("signing_key_publish_delay: must be >= 0");
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "auth: %s\n", p.c_str());
    return 2;
  }

  pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  if (auto s = pg::Migrate(pool, migrations::Files()); !s.ok()) return Fail(s);
  if (migrate_only) return 0;

  crypto::OsRandom random;
  SystemClock clock;
  auto keys = KeyDirectory::Open(cfg.signing_key_dir, cfg.signing_keys, &clock, &random);
  if (!keys.ok()) {
    if (absl::IsFailedPrecondition(keys.status())) {
      std::fprintf(stderr,
                   "auth: %s: install the signing keys (ES256 PKCS#8 <kid>.pem files, the same "
                   "for every replica), or pass --signing_key_autogenerate=true on a "
                   "single-instance dev/test stack\n",
                   std::string(keys.status().message()).c_str());
      return 2;
    }
    return Fail(keys.status());
  }

  PgAuthStore store(&pool, cfg.captcha_hmac_key);
  GrpcAccountsClient accounts(server::Dial(cfg.accounts_addr), cfg.accounts_deadline);
  GrpcOtpClient otp(server::Dial(cfg.otp_addr), cfg.otp_deadline);
  std::unique_ptr<GrpcSigverifyClient> sigverify;
  if (!cfg.sigverify_addr.empty()) {
    sigverify = std::make_unique<GrpcSigverifyClient>(server::Dial(cfg.sigverify_addr),
                                                      cfg.sigverify_deadline);
  } else {
    log::Warn("auth.certificate_login_disabled", {{"reason", "no --sigverify_addr"}});
  }
  auto captcha =
      captcha::NewPgCaptchaChecker(&pool, &clock, &random, cfg.captcha_hmac_key,
                                   captcha::IssuerOptions{.expose_answer = cfg.dev_expose_captcha});
  // Background work after the client has its answer (login-history rows): one thread, bounded;
  // a full queue drops the task with a warning rather than slowing the request path. Tasks
  // capture the domain: the queue is drained (reset below) before the domain goes away.
  auto background = std::make_unique<server::BlockingExecutor>(1, 10000);
  server::BlockingExecutor* queue = background.get();
  AuthDomain domain(
      AuthDomain::Deps{&store, &accounts, &otp, captcha.get(), keys->get(), &clock, &random,
                       [queue](std::function<void()> fn) {
                         if (!queue->Post(std::move(fn))) log::Warn("background_queue.dropped");
                       },
                       sigverify.get()},
      DeriveSecrets(cfg.token_hmac_key), cfg.auth);
  AuthGrpc api(&domain, cfg.trusted_proxies, cfg.certificate_poll_interval);

  // Account events: a password change ends the account's sessions. At least once; stopped
  // before the domain goes away.
  AccountEventHandler account_events([&domain](const std::string& account_id,
                                               const std::string& reason,
                                               std::optional<absl::Time> changed_at) {
    return domain.RevokeAllSessions(account_id, reason, changed_at);
  });
  auto consumer = kafka::Consumer::Create({.bootstrap_servers = cfg.kafka_brokers,
                                           .group_id = cfg.kafka_group,
                                           .topics = {kAccountsTopic},
                                           .client_id = "auth"});
  if (!consumer.ok()) return Fail(consumer.status());

  metrics::Registry registry;
  pg::ExportPoolMetrics(pool, &registry);
  auto& key_count = registry.Gauge("auth_signing_keys", "Signing keys loaded").Default();
  registry.AddCollectHook([&] {
    auto k = (*keys)->Keys();
    key_count.Set(k ? static_cast<double>(k->keys.size()) : 0);
  });

  server::GrpcServer srv(
      {.service_name = "auth", .grpc_port = cfg.base.grpc_port, .metrics_port = cfg.base.metrics_port},
      &registry);
  srv.Register(&api);
  if (auto s = srv.Start(); !s.ok()) return Fail(s);
  if (auto s = (*consumer)->Start([&account_events](const kafka::ReceivedMessage& m) {
        return account_events.Handle(m);
      });
      !s.ok()) {
    return Fail(s);
  }
  log::Info("auth.config", {{"config", src.Describe()}});

  // Maintenance: pick up rotated signing keys; delete expired rows.
  absl::Notification stop;
  std::thread maintenance([&] {
    absl::Time next_purge = absl::Now();
    while (!stop.WaitForNotificationWithTimeout(cfg.signing_key_reload)) {
      if (absl::Status s = (*keys)->Reload(); !s.ok()) {
        log::Error("signing_keys.reload_failed", {{"error", s.ToString()}});
      }
      if (absl::Now() >= next_purge) {
        auto n = store.PurgeExpired(absl::Now(), t.forget_after, t.trusted_ip_ttl);
        if (!n.ok()) log::Warn("purge.failed", {{"error", n.status().ToString()}});
        auto c = captcha::PurgeExpiredCaptchas(&pool, absl::Now() - absl::Hours(1));
        if (!c.ok()) log::Warn("captcha_purge.failed", {{"error", c.status().ToString()}});
        next_purge = absl::Now() + cfg.purge_interval;
      }
    }
  });

  server::WaitForTerminationSignal();
  log::Info("auth.stopping");
  srv.Shutdown();
  (*consumer)->Stop();  // waits for the event in progress, commits, leaves the group
  stop.Notify();
  maintenance.join();
  background.reset();
  return 0;
}

}  // namespace
}  // namespace dvc::auth

int main(int argc, char** argv) { return dvc::auth::Run(argc, argv); }
