// Access-token introspection for internal clients, built for ≥ 10 000 calls/s per replica:
//  - a verified-token cache keyed by the SHA-256 of the whole token (so a tampered token never
//    hits an entry), valid until the token's exp and for the key-set snapshot that verified it, so
//    each token costs one ES256 verification;
//  - a session-state cache (revoked? expired?) with a short TTL (default 1 s), so the database
//    sees at most one query per session per TTL per replica. Bound on revocation latency: a
//    session revoked through this replica is inactive at once (ForgetSession); one revoked
//    through another replica is seen here within the TTL.
// A token whose kid is unknown makes the KeySource re-read its keys once (rate-limited by the
// source) before it is refused, so a key another replica already signs with is picked up at once.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "services/auth/domain/keys.h"
#include "services/auth/domain/ports.h"

namespace dvc::auth {

struct Introspection {
  bool active = false;
  std::string sub;
  std::string acr;
  int64_t exp = 0;
  int64_t iat = 0;
  std::string session_id;
  std::vector<std::string> amr;
};

struct IntrospectOptions {
  std::string issuer;
  std::string audience;
  absl::Duration session_cache_ttl = absl::Seconds(1);
  size_t max_cached_tokens = 100000;    // across all shards
  size_t max_cached_sessions = 200000;  // across all shards
};

class Introspector final {
 public:
  Introspector(KeySource* keys, AuthStore* store, Clock* clock, IntrospectOptions options)
      : keys_(keys), store_(store), clock_(clock), options_(std::move(options)) {}

  // Never fails: anything wrong (signature, exp, iss, aud, revoked or expired session, store
  // unreachable) is active=false.
  Introspection Introspect(const std::string& token);
  // The same answer without waiting for anything: nullopt when it needs the store (the session's
  // state is not cached or is stale) or a re-read of the keys (an unknown kid); then call
  // Introspect (e.g. on a thread that may block). Signature verification (CPU only) is done and
  // cached either way, so the Introspect that follows a nullopt does not repeat it.
  std::optional<Introspection> TryIntrospect(const std::string& token);
  // Marks a session revoked in this replica's cache at once (logout, reuse detection).
  void ForgetSession(const std::string& session_id);

 private:
  static constexpr size_t kShards = 16;
  struct TokenEntry {
    Introspection claims;  // active=true form
    uint64_t key_version = 0;
  };
  struct SessionEntry {
    SessionState state;
    absl::Time fetched_at;
  };
  struct TokenShard {
    std::mutex mu;
    std::unordered_map<std::string, TokenEntry> map;
  };
  struct SessionShard {
    std::mutex mu;
    std::unordered_map<std::string, SessionEntry> map;
  };

  // Verifies signature and the static claims; active=false when invalid, with *unknown_kid set
  // when the reason is a kid absent from `keys`.
  Introspection VerifyToken(const KeySet& keys, const std::string& token, bool* unknown_kid) const;
  // Both entry points; nullopt only when !may_block and the answer needs blocking work.
  std::optional<Introspection> Run(const std::string& token, bool may_block);
  // The cached state when fresh; otherwise the store's (nullopt when !may_block).
  std::optional<bool> SessionActive(const std::string& session_id, absl::Time now, bool may_block);
  static size_t ShardOf(const std::string& key);

  KeySource* keys_;
  AuthStore* store_;
  Clock* clock_;
  IntrospectOptions options_;
  std::array<TokenShard, kShards> tokens_;
  std::array<SessionShard, kShards> sessions_;
};

}  // namespace dvc::auth
