// sigverify: digital-signature verification — one-time challenges signed with USB tokens,
// remote signatures on SIMs (ETSI TS 102 204 MSSP) and with VNPT SmartCA, and the signer
// certificate's path, validity, key usage, algorithms, revocation (OCSP/CRL) and identity.
//
//   sigverify [migrate] --database_url=URL [--grpc_port=50055] [--metrics_port=51055]
//             [--trust_store=FILE_OR_DIR,...] [--government_anchors=FILE_OR_DIR,...]
//             [--mssp_url=URL --mssp_ap_id=ID --mssp_ap_password_file=F]
//             [--smartca_url=URL --smartca_sp_id=ID --smartca_sp_password_file=F] ...
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "libs/clock/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/random.h"
#include "libs/http/http_client.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/sigverify/adapters/http_revocation_fetcher.h"
#include "services/sigverify/adapters/mssp_client.h"
#include "services/sigverify/adapters/pg_signature_stores.h"
#include "services/sigverify/adapters/pg_trust_anchor_store.h"
#include "services/sigverify/adapters/smartca_client.h"
#include "services/sigverify/api/sigverify_grpc.h"
#include "services/sigverify/domain/revocation.h"
#include "services/sigverify/domain/signature_service.h"
#include "services/sigverify/domain/trust_store.h"
#include "services/sigverify/migrations.h"

namespace {

using namespace dvc;           // NOLINT: composition root
using namespace dvc::sigverify;  // NOLINT

struct Config {
  server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  std::string trust_store;
  std::string government_anchors;
  absl::Duration trust_store_reload;
  std::string registration_policy, login_policy;
  absl::Duration challenge_ttl, remote_timeout, ocsp_timeout, purge_interval;
  bool revocation_cache = true;
  MsspConfig mssp;
  SmartCaConfig smartca;
};

RevocationPolicy PolicyFrom(const std::string& s) {
  return s == "fail_open" ? RevocationPolicy::kFailOpen : RevocationPolicy::kFailClosed;
}

int Run(int argc, char** argv) {
  server::InstallSignalMask();
  // `sigverify migrate …`: apply the migrations and exit (Kubernetes job).
  config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  Config cfg;
  cfg.base = server::ReadServiceFlags(src, "sigverify", 50055, 4);
  cfg.trust_store = src.String("trust_store", "",
                               "comma-separated PEM files or directories: roots (self-signed) "
                               "and intermediates");
  cfg.government_anchors = src.String(
      "government_anchors", "",
      "comma-separated PEM files or directories of the roots whose certificates are "
      "government ones (RootCA chuyên dùng Chính phủ); each must also be in --trust_store");
  cfg.trust_store_reload = src.Duration(
      "trust_store_reload_interval", absl::Seconds(30),
      "how often the trust store files are checked for changes (reloaded only if they load)");
  const std::vector<std::string> policies = {"fail_closed", "fail_open"};
  cfg.registration_policy =
      src.Enum("revocation_policy_registration", "fail_closed",
               "when OCSP and CRL are both unreachable during registration", policies);
  cfg.login_policy = src.Enum("revocation_policy_login", "fail_closed",
                              "when OCSP and CRL are both unreachable during login", policies);
  cfg.challenge_ttl = src.Duration("challenge_ttl", absl::Minutes(5), "USB challenge lifetime");
  cfg.remote_timeout = src.Duration("remote_timeout", absl::Minutes(2),
                                    "time the user has to confirm on the phone");
  cfg.ocsp_timeout = src.Duration("revocation_timeout", absl::Seconds(3),
                                  "OCSP / CRL fetch time-out");
  cfg.revocation_cache = src.Bool(
      "revocation_cache", true,
      "cache OCSP answers and CRLs until their nextUpdate; false fetches them for every "
      "verification (benchmarks of the cold path, debugging a responder)");
  cfg.purge_interval = src.Duration("purge_interval", absl::Minutes(1),
                                    "how often expired challenges are deleted");
  cfg.mssp.url = src.String("mssp_url", "", "MSSP SOAP endpoint (SIM signatures); empty = off");
  cfg.mssp.ap_id = src.String("mssp_ap_id", "dvc-ap", "our AP_ID at the MSSP");
  cfg.mssp.ap_password = src.Secret("mssp_ap_password", "our AP_PWD at the MSSP", false);
  cfg.mssp.mssp_id = src.String("mssp_id", "http://mssp.sim.dvc.local", "the MSSP's MSSP_ID URI");
  cfg.mssp.client_cert_file = src.String("mssp_client_cert", "", "mTLS client certificate (PEM)");
  cfg.mssp.client_key_file = src.String("mssp_client_key", "", "mTLS client key (PEM)");
  cfg.mssp.ca_file = src.String("mssp_ca", "", "CA bundle for the MSSP's TLS certificate");
  cfg.smartca.base_url = src.String("smartca_url", "", "SmartCA API base URL; empty = off");
  cfg.smartca.sp_id = src.String("smartca_sp_id", "dvc-sp", "our sp_id at SmartCA");
  cfg.smartca.sp_password = src.Secret("smartca_sp_password", "our sp_password", false);
  absl::Status st = src.Finish();
  std::vector<std::string> problems;
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kFailedPrecondition) {  // --help
      std::printf("%s\n", std::string(st.message()).c_str());
      return 0;
    }
    problems.push_back(std::string(st.message()));
  }
  std::unique_ptr<TrustStoreHolder> trust;
  SignatureServiceOptions opts;
  if (!migrate_only) {
    auto holder = TrustStoreHolder::Create(cfg.trust_store);
    if (!holder.ok()) {
      problems.push_back(absl::StrCat("--trust_store: ", holder.status().message()));
    } else {
      trust = *std::move(holder);
    }
    auto gov = LoadTrustStore(cfg.government_anchors);
    if (!gov.ok()) {
      problems.push_back(absl::StrCat("--government_anchors: ", gov.status().message()));
    } else {
      for (const TrustAnchor& a : *gov) opts.government_anchors.insert(a.fingerprint_sha256);
    }
    if (!cfg.mssp.url.empty() && cfg.mssp.ap_password.empty()) {
      problems.push_back("--mssp_ap_password(_file) is required with --mssp_url");
    }
    if (!cfg.smartca.base_url.empty() && cfg.smartca.sp_password.empty()) {
      problems.push_back("--smartca_sp_password(_file) is required with --smartca_url");
    }
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "sigverify: %s\n", p.c_str());
    return 2;
  }

  log::Init("sigverify", log::LevelFromName(cfg.base.log_level));
  log::Info("config", {{"effective", src.Describe()}});

  pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  pg::MigrationReport report;
  if (absl::Status s = pg::Migrate(pool, migrations::Files(), &report); !s.ok()) {
    log::Error("migrate.failed", {{"status", s.ToString()}});
    return 1;
  }
  log::Info("migrate.done", {{"version", absl::StrCat(report.current_version)},
                             {"applied", absl::StrCat(report.applied.size())}});
  if (migrate_only) return 0;

  SystemClock clock;
  crypto::OsRandom random;
  metrics::Registry registry;
  PgTrustAnchorStore anchor_store(&pool);
  auto record = [&](const TrustStore& store) {
    if (absl::Status s = anchor_store.RecordLoaded(store.all(), clock.Now()); !s.ok()) {
      log::Warn("trust_store.record_failed", {{"status", s.ToString()}});
    }
    for (const auto& a : store.anchors()) {
      log::Info("trust_store.anchor", {{"subject", a.subject}, {"sha256", a.fingerprint_sha256}});
    }
    registry.Gauge("sigverify_trust_anchors", "Trust anchors loaded")
        .Default()
        .Set(static_cast<double>(store.anchors().size()));
    registry.Gauge("sigverify_trust_intermediates", "Configured intermediate certificates")
        .Default()
        .Set(static_cast<double>(store.intermediates().size()));
  };
  record(*trust->Get());
  pg::ExportPoolMetrics(pool, &registry);

  http::HttpClient http;
  HttpRevocationFetcher fetcher(&http);
  RevocationConfig rcfg;
  rcfg.ocsp_timeout = cfg.ocsp_timeout;
  rcfg.crl_timeout = cfg.ocsp_timeout;
  if (!cfg.revocation_cache) {
    // A capacity of 0 stores nothing: every check fetches OCSP / the CRL again.
    rcfg.max_ocsp_cache_entries = 0;
    rcfg.max_crl_cache_entries = 0;
    log::Warn("revocation.cache_disabled", {});
  }
  OcspCrlRevocationChecker revocation(&fetcher, &clock, rcfg, &registry);

  absl::flat_hash_map<RemoteProvider, RemoteSigner*> signers;
  std::unique_ptr<MsspClient> mssp;
  std::unique_ptr<SmartCaClient> smartca;
  if (!cfg.mssp.url.empty()) {
    mssp = std::make_unique<MsspClient>(cfg.mssp, &http, &clock);
    signers[RemoteProvider::kSim] = mssp.get();
  }
  if (!cfg.smartca.base_url.empty()) {
    smartca = std::make_unique<SmartCaClient>(cfg.smartca, &http, &clock);
    signers[RemoteProvider::kSmartCa] = smartca.get();
  }

  PgChallengeStore challenges(&pool);
  PgRemoteSignatureStore remote(&pool);
  opts.challenge_ttl = cfg.challenge_ttl;
  opts.remote_timeout = cfg.remote_timeout;
  opts.registration_policy = PolicyFrom(cfg.registration_policy);
  opts.login_policy = PolicyFrom(cfg.login_policy);
  SignatureService service(trust.get(), &revocation, &challenges, &remote, signers, &clock,
                           &random, opts);

  SigverifyGrpc api(trust.get(), &service);
  server::GrpcServer server(
      server::Options{.service_name = "sigverify", .grpc_port = cfg.base.grpc_port,
                      .metrics_port = cfg.base.metrics_port},
      &registry);
  server.Register(&api);
  if (absl::Status s = server.Start(); !s.ok()) {
    log::Error("server.start_failed", {{"status", s.ToString()}});
    return 1;
  }

  // Maintenance: reload the trust store when its files change; delete expired rows.
  absl::Notification stop;
  std::thread maintenance([&] {
    absl::Time next_purge = absl::Now();
    while (!stop.WaitForNotificationWithTimeout(cfg.trust_store_reload)) {
      absl::StatusOr<bool> reloaded = trust->ReloadIfChanged();
      if (!reloaded.ok()) {
        log::Error("trust_store.reload_failed", {{"status", reloaded.status().ToString()}});
      } else if (*reloaded) {
        log::Info("trust_store.reloaded", {});
        record(*trust->Get());
      }
      if (absl::Now() >= next_purge) {
        const absl::Time cutoff = clock.Now() - absl::Hours(1);
        if (auto n = challenges.PurgeExpired(cutoff); !n.ok()) {
          log::Warn("purge.failed", {{"error", n.status().ToString()}});
        }
        if (auto n = remote.PurgeExpired(cutoff); !n.ok()) {
          log::Warn("purge.failed", {{"error", n.status().ToString()}});
        }
        next_purge = absl::Now() + cfg.purge_interval;
      }
    }
  });

  const int sig = server::WaitForTerminationSignal();
  log::Info("server.stopping", {{"signal", absl::StrCat(sig)}});
  server.Shutdown();
  stop.Notify();
  maintenance.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
