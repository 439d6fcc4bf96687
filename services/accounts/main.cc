// accounts — composition root: config → PostgreSQL (migrations) → outbox relay to Kafka →
// domain → gRPC server. `accounts migrate` applies the migrations and exits (Kubernetes job).
#include <cstdio>
#include <cstring>
#include <vector>

#include "libs/config/config.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/random.h"
#include "libs/kafka/outbox.h"
#include "libs/logging/log.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/pool_metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/service_flags.h"
#include "services/accounts/adapters/pg_account_store.h"
#include "services/accounts/api/accounts_grpc.h"
#include "services/accounts/domain/accounts.h"
#include "services/accounts/migrations.h"

namespace dvc::accounts {
namespace {

struct Config {
  server::ServiceFlags base;  // grpc_port, metrics_port, database_url, db_pool_size, log_level
  int hash_concurrency;
  std::string kafka_brokers;
  std::string pii_key;  // base64 of 32 bytes
  crypto::Argon2Params argon2;
};

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "accounts: %s\n", std::string(s.message()).c_str());
  return 2;
}

int Run(int argc, char** argv) {
  server::InstallSignalMask();
  config::Source src(argc, argv, {"migrate"});
  const bool migrate_only = src.subcommand() == "migrate";
  Config cfg;
  cfg.base = server::ReadServiceFlags(src, "accounts", 50056, 16);
  cfg.kafka_brokers = src.String("kafka_brokers", "", "Kafka bootstrap servers", !migrate_only);
  cfg.pii_key = src.Secret("pii_key", "base64 32-byte key sealing personal data", !migrate_only);
  cfg.argon2.m_kib = src.Int("argon2_m_kib", 19456, "Argon2id memory (KiB)", 7168, 1 << 20);
  cfg.argon2.t = src.Int("argon2_t", 2, "Argon2id iterations", 1, 10);
  cfg.argon2.p = src.Int("argon2_p", 1, "Argon2id lanes", 1, 8);
  cfg.hash_concurrency = src.Int("hash_concurrency", 0,
                                 "Argon2id computations at once (0: one per core)", 0, 256);
  if (auto s = src.Finish(); !s.ok()) return Fail(s);
  log::Init("accounts", log::LevelFromName(cfg.base.log_level));

  pg::Pool pool({.url = cfg.base.database_url, .size = cfg.base.db_pool_size});
  if (auto s = pg::Migrate(pool, migrations::Files()); !s.ok()) return Fail(s);
  if (migrate_only) return 0;

  auto key = crypto::Base64Decode(cfg.pii_key);
  if (!key.has_value() || key->size() != 32) {
    return Fail(absl::InvalidArgumentError("pii_key: must be base64 of 32 bytes"));
  }
  auto cipher = crypto::FieldCipher::Create("k1", *key);
  if (!cipher.ok()) return Fail(cipher.status());
  const std::string index_key = crypto::HmacSha256(*key, "dvc/accounts/blind-index/v1");

  crypto::OsRandom random;
  metrics::Registry registry;
  kafka::OutboxRelayOptions relay_options;
  relay_options.producer.bootstrap_servers = cfg.kafka_brokers;
  relay_options.producer.client_id = "accounts";
  kafka::OutboxRelay relay(&pool, relay_options);
  if (auto s = relay.Start(); !s.ok()) return Fail(s);

  pg::ExportPoolMetrics(pool, &registry);
  auto& outbox_lag = registry.Gauge("outbox_oldest_unpublished_seconds", "Age of the oldest unpublished event").Default();
  auto& outbox_pending = registry.Gauge("outbox_unpublished_events", "Events waiting in the outbox").Default();
  auto& outbox_published = registry.Gauge("outbox_published_events", "Events published by this process").Default();
  registry.AddCollectHook([&] {
    auto st = relay.Stats();
    if (!st.ok()) return;
    outbox_lag.Set(st->oldest_unpublished_age_s);
    outbox_pending.Set(static_cast<double>(st->unpublished));
    outbox_published.Set(static_cast<double>(st->published_total));
  });

  PgAccountStore store(&pool, &*cipher, index_key, &random);
  AccountsDomain domain(&store, &random, cfg.argon2, cfg.hash_concurrency);
  AccountsGrpc api(&domain);
  server::GrpcServer srv({.service_name = "accounts", .grpc_port = cfg.base.grpc_port,
                          .metrics_port = cfg.base.metrics_port},
                         &registry);
  srv.Register(&api);
  if (auto s = srv.Start(); !s.ok()) return Fail(s);
  log::Info("accounts.config", {{"config", src.Describe()}});
  server::WaitForTerminationSignal();
  log::Info("accounts.stopping");
  srv.Shutdown();
  relay.Stop();
  return 0;
}

}  // namespace
}  // namespace dvc::accounts

int main(int argc, char** argv) { return dvc::accounts::Run(argc, argv); }
