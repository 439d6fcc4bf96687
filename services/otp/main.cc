// otp — composition root: config → PostgreSQL (migrations) → SMS adapter → domain → gRPC server,
// plus a housekeeping thread purging expired challenges and old delivery-log rows.
// `otp migrate` applies the migrations and exits (Kubernetes job).
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/random.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/otp/adapters/http_sms_sender.h"
#include "services/otp/adapters/pg_otp_store.h"
#include "services/otp/api/otp_grpc.h"
#include "services/otp/domain/otp.h"
#include "services/otp/migrations.h"

namespace dvc::otp {
namespace {

struct Config {
  server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  std::string sms_url, sms_sender;
  absl::Duration sms_timeout;
  std::string otp_hmac_key, pii_key, pii_key_id;  // keys: base64 text
  OtpOptions otp;
  absl::Duration purge_interval, challenge_retention, delivery_log_retention;
};

int Fail(const std::string& msg) {
  std::fprintf(stderr, "otp: %s\n", msg.c_str());
  return 2;
}

int Run(int argc, char** argv) {
  server::InstallSignalMask();
  config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";

  Config cfg;
  cfg.base = server::ReadServiceFlags(src, "otp", 50053, 16);
  cfg.sms_url = src.String("sms_url", "", "SMS gateway base URL (POST <url>/v1/sms)",
                           !migrate_only);
  cfg.sms_sender = src.String("sms_sender", "DVCQG", "SMS sender name (brand)");
  cfg.sms_timeout = src.Duration("sms_timeout", absl::Seconds(5), "SMS gateway request timeout");
  cfg.otp_hmac_key = src.Secret("otp_hmac_key", "base64 key (>= 32 bytes) hashing the OTP codes",
                                !migrate_only);
  cfg.pii_key = src.Secret("pii_key", "base64 32-byte key sealing phone numbers at rest",
                           !migrate_only);
  cfg.pii_key_id = src.String("pii_key_id", "k1", "key id of pii_key in sealed values");
  OtpOptions& o = cfg.otp;
  o.ttl = src.Duration("otp_ttl", absl::Minutes(5), "code lifetime (at most 10m, NIST 800-63B)");
  o.resend_cooldown = src.Duration("otp_resend_cooldown", absl::Seconds(60),
                                   "wait before a code can be resent");
  o.max_attempts = src.Int("otp_max_attempts", 5, "wrong codes allowed per challenge", 1, 20);
  o.max_resends = src.Int("otp_max_resends", 3, "resends allowed per challenge", 0, 20);
  o.phone_limit = src.Int("otp_phone_limit", 5, "sends per phone per window", 1, 10000);
  o.phone_window = src.Duration("otp_phone_window", absl::Minutes(15), "per-phone send window");
  o.subject_limit = src.Int("otp_subject_limit", 10, "sends per subject per window", 1, 10000);
  o.subject_window = src.Duration("otp_subject_window", absl::Hours(1), "per-subject window");
  cfg.purge_interval = src.Duration("purge_interval", absl::Minutes(10),
                                    "how often expired rows are deleted");
  cfg.challenge_retention = src.Duration("challenge_retention", absl::Hours(24),
                                         "how long expired challenges are kept");
  cfg.delivery_log_retention = src.Duration("delivery_log_retention", absl::Hours(24 * 30),
                                            "how long delivery-log rows are kept");

  std::vector<std::string> problems;
  if (auto s = src.Finish(); !s.ok()) {
    if (s.code() == absl::StatusCode::kFailedPrecondition) {  // --help
      std::fprintf(stdout, "%s\n", std::string(s.message()).c_str());
      return 0;
    }
    problems.push_back(std::string(s.message()));
  }
  auto positive = [&](const char* name, absl::Duration d, absl::Duration max) {
    if (d <= absl::ZeroDuration() || d > max) {
      problems.push_back(absl::StrCat(name, ": must be > 0 and <= ", absl::FormatDuration(max)));
    }
  };
  positive("otp_ttl", o.ttl, absl::Minutes(10));
  positive("otp_resend_cooldown", o.resend_cooldown, absl::Minutes(10));
  positive("otp_phone_window", o.phone_window, absl::Hours(24 * 7));
  positive("otp_subject_window", o.subject_window, absl::Hours(24 * 7));
  positive("sms_timeout", cfg.sms_timeout, absl::Minutes(1));
  positive("purge_interval", cfg.purge_interval, absl::Hours(24));
  positive("challenge_retention", cfg.challenge_retention, absl::Hours(24 * 365));
  positive("delivery_log_retention", cfg.delivery_log_retention, absl::Hours(24 * 3650));
  if (cfg.sms_timeout >= o.resend_cooldown) {
    problems.push_back("sms_timeout: must be shorter than otp_resend_cooldown");
  }
  std::optional<std::string> hmac_key, pii_key;
  if (!migrate_only) {
    hmac_key = crypto::Base64Decode(cfg.otp_hmac_key);
    if (!cfg.otp_hmac_key.empty() && (!hmac_key || hmac_key->size() < 32)) {
      problems.push_back("otp_hmac_key: must be base64 of at least 32 bytes");
    }
    pii_key = crypto::Base64Decode(cfg.pii_key);
    if (!cfg.pii_key.empty() && (!pii_key || pii_key->size() != 32)) {
      problems.push_back("pii_key: must be base64 of exactly 32 bytes");
    }
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "otp: %s\n", p.c_str());
    return 2;
  }
  o.sms_sender = cfg.sms_sender;
  log::Init("otp", log::LevelFromName(cfg.base.log_level));

  pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  if (auto s = pg::Migrate(pool, migrations::Files()); !s.ok()) {
    return Fail(absl::StrCat("migrations: ", s.ToString()));
  }
  if (migrate_only) return 0;

  auto cipher = crypto::FieldCipher::Create(cfg.pii_key_id, *pii_key);
  if (!cipher.ok()) return Fail(absl::StrCat("pii_key: ", cipher.status().message()));
  // Blind indexes use a key derived from pii_key, distinct from the sealing key itself.
  OtpKeys keys{*hmac_key, crypto::HmacSha256(*pii_key, "dvc/otp/blind-index/v1")};

  SystemClock clock;
  crypto::OsRandom random;
  metrics::Registry registry;
  pg::ExportPoolMetrics(pool, &registry);

  PgOtpStore store(&pool);
  HttpSmsSender sms({cfg.sms_url, cfg.sms_sender, cfg.sms_timeout,
                     std::min(cfg.sms_timeout, absl::Seconds(2))});
  OtpDomain domain(&store, &sms, &clock, &random, &*cipher, keys, cfg.otp, &registry);
  OtpGrpc api(&domain);

  server::GrpcServer srv({.service_name = "otp", .grpc_port = cfg.base.grpc_port,
                          .metrics_port = cfg.base.metrics_port},
                         &registry);
  srv.Register(&api);
  if (auto s = srv.Start(); !s.ok()) return Fail(s.ToString());
  log::Info("otp.config", {{"config", src.Describe()}});

  absl::Notification stop;
  const absl::Duration sends_keep = std::max(o.phone_window, o.subject_window);
  std::thread purger([&] {
    while (!stop.WaitForNotificationWithTimeout(cfg.purge_interval)) {
      const absl::Time now = clock.Now();
      auto n = store.Purge(now - cfg.challenge_retention, now - sends_keep,
                           now - cfg.delivery_log_retention);
      if (!n.ok()) {
        log::Warn("otp.purge_failed", {{"error", n.status().ToString()}});
      } else if (*n > 0) {
        log::Info("otp.purged", {{"challenges", absl::StrCat(*n)}});
      }
    }
  });

  server::WaitForTerminationSignal();
  log::Info("otp.stopping");
  srv.Shutdown();
  stop.Notify();
  purger.join();
  return 0;
}

}  // namespace
}  // namespace dvc::otp

int main(int argc, char** argv) { return dvc::otp::Run(argc, argv); }
