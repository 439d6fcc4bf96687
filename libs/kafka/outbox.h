// Transactional outbox: an event row is written in the same PostgreSQL transaction as the
// business change; OutboxRelay publishes the rows to Kafka and marks them published.
//
// 1. Copy this DDL into a migration of your service (e.g. migrations/0002_outbox.sql); it is
//    also available as kOutboxDdl:
//
//      CREATE TABLE outbox (
//        id           BIGSERIAL PRIMARY KEY,
//        event_id     UUID NOT NULL UNIQUE,
//        topic        TEXT NOT NULL,
//        event_key    TEXT NOT NULL,
//        payload      BYTEA NOT NULL,
//        headers      JSONB NOT NULL DEFAULT '{}'::jsonb,
//        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
//        published_at TIMESTAMPTZ
//      );
//      CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
//
// 2. In the business transaction:
//      pool.WithTransaction([&](pqxx::work& tx) -> absl::Status {
//        ... UPDATE accounts ...;
//        return dvc::kafka::EnqueueEvent(tx, {event_id, "dvc.accounts.v1", account_id, bytes,
//                                             {{"type", "AccountCreated"}}});
//      });
//
// 3. In main: OutboxRelay relay(&pool, {.producer = {...}}); relay.Start(); ... relay.Stop();
//
// Delivery is at-least-once: a row is marked only after the broker acknowledged it (acks=all,
// idempotent producer); on broker failure the rows stay unpublished and are retried with capped
// backoff, never dropped. A crash between the acknowledgement and the mark re-publishes the
// event, so every message carries the header `event_id` for consumers to deduplicate.
// Several relay replicas may run: one at a time publishes (transaction-scoped advisory lock),
// which keeps per-key order; rows are claimed with FOR UPDATE SKIP LOCKED.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/producer.h"
#include "libs/pg/pool.h"
#include <pqxx/pqxx>

namespace dvc::kafka {

inline constexpr char kOutboxDdl[] = R"sql(CREATE TABLE outbox (
  id           BIGSERIAL PRIMARY KEY,
  event_id     UUID NOT NULL UNIQUE,
  topic        TEXT NOT NULL,
  event_key    TEXT NOT NULL,
  payload      BYTEA NOT NULL,
  headers      JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
)sql";

// NOTIFY channel signalled by EnqueueEvent (delivered when the transaction commits).
inline constexpr char kOutboxChannel[] = "dvc_outbox";

struct OutboxEvent {
  std::string event_id;  // UUID text, e.g. from dvc random; the consumers' dedup key
  std::string topic;
  std::string key;       // Kafka key (e.g. account id): per-key ordering
  std::string payload;   // bytes (serialized protobuf)
  Headers headers;       // UTF-8 names and values; "event_id" is added by the relay
};

// Inserts the event in `tx` (the caller's business transaction). Errors: INVALID_ARGUMENT
// (OUTBOX_EVENT_INVALID: bad event_id/topic), ALREADY_EXISTS (DB_UNIQUE_VIOLATION, event_id
// reused), or the dvc::pg mapping of database errors. After an error the transaction is
// unusable: return the status so that WithTransaction rolls back.
absl::Status EnqueueEvent(pqxx::work& tx, const OutboxEvent& event);

struct OutboxRelayOptions {
  ProducerOptions producer;  // delivery_timeout bounds how long a batch waits for the broker
  int batch_size = 100;
  absl::Duration poll_interval = absl::Milliseconds(500);  // max wait when no NOTIFY arrives
  absl::Duration min_backoff = absl::Milliseconds(200);    // after a broker/database failure
  absl::Duration max_backoff = absl::Seconds(30);
  bool listen = true;  // LISTEN on kOutboxChannel for low latency (needs Pool::url())
  // Published rows older than this are deleted (in small batches, about once a minute);
  // zero keeps them forever.
  absl::Duration retention = absl::Hours(24 * 7);
};

struct OutboxStats {
  int64_t published_total = 0;          // by this relay since start
  int64_t failed_total = 0;             // delivery failures seen (each retried later)
  int64_t unpublished = 0;              // rows waiting now
  double oldest_unpublished_age_s = 0;  // "outbox lag" gauge; 0 when none wait
};

class OutboxRelay final {
 public:
  OutboxRelay(pg::Pool* pool, OutboxRelayOptions options);
  ~OutboxRelay();  // Stop()
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Starts the background thread (the producer is created on first use).
  absl::Status Start();
  // Stops the thread: the batch in flight completes (delivery awaited, rows marked), then the
  // relay keeps publishing until nothing is pending or `drain_timeout` elapsed.
  void Stop(absl::Duration drain_timeout = absl::Seconds(10));

  // Publishes one batch synchronously (used by the thread; handy in tests and jobs). Returns
  // the number of rows published and marked; an error (rows kept) when any delivery failed or
  // the database failed. Returns 0 when another relay holds the publish lock.
  absl::StatusOr<int> PublishOnce();

  // Counters plus the current backlog read from the database.
  absl::StatusOr<OutboxStats> Stats();

 private:
  void Run();
  void WaitForWork(absl::Duration max_wait);
  void PurgeOld();
  absl::Status EnsureProducer();

  pg::Pool* const pool_;
  const OutboxRelayOptions options_;
  absl::Mutex publish_mu_;  // one PublishOnce at a time
  std::unique_ptr<Producer> producer_ ABSL_GUARDED_BY(publish_mu_);
  std::unique_ptr<pqxx::connection> listen_conn_;  // relay thread only
  std::unique_ptr<pqxx::notification_receiver> receiver_;
  std::atomic<bool> notified_{false};
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  absl::Duration drain_timeout_ ABSL_GUARDED_BY(stop_mu_);
  std::thread thread_;
  absl::Time last_purge_ = absl::InfinitePast();
  std::atomic<int64_t> published_{0}, failed_{0};
};

}  // namespace dvc::kafka
