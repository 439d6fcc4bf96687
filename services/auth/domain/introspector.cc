#include "services/auth/domain/introspector.h"

#include <functional>

#include "libs/crypto/hmac.h"
#include "libs/jwt/json.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::auth {

size_t Introspector::ShardOf(const std::string& key) {
  return std::hash<std::string>{}(key) % kShards;
}

Introspection Introspector::VerifyToken(const KeySet& keys, const std::string& token,
                                        bool* unknown_kid) const {
  Introspection out;
  auto claims_json = keys.verifier.Verify(token);
  *unknown_kid = false;
  if (!claims_json.ok()) {
    *unknown_kid = status::ReasonOf(claims_json.status()) == "TOKEN_KID_UNKNOWN";
    return out;
  }
  auto claims = jwt::ParseFlatJson(*claims_json);
  if (!claims.ok()) return out;
  auto iss = claims->GetString("iss");
  auto aud = claims->GetString("aud");
  auto sub = claims->GetString("sub");
  auto sid = claims->GetString("sid");
  auto exp = claims->GetInt("exp");
  auto iat = claims->GetInt("iat");
  if (!iss || *iss != options_.issuer || !sub || sub->empty() || !sid || sid->empty() || !exp ||
      !iat) {
    return out;
  }
  if (!aud) {
    // "aud" may also be an array containing our audience.
    auto auds = claims->GetStringArray("aud");
    bool found = false;
    if (auds) {
      for (const auto& a : *auds) found = found || a == options_.audience;
    }
    if (!found) return out;
  } else if (*aud != options_.audience) {
    return out;
  }
  out.active = true;
  out.sub = *sub;
  out.session_id = *sid;
  out.exp = *exp;
  out.iat = *iat;
  out.acr = claims->GetString("acr").value_or("");
  out.amr = claims->GetStringArray("amr").value_or(std::vector<std::string>{});
  return out;
}

std::optional<bool> Introspector::SessionActive(const std::string& session_id, absl::Time now,
                                                bool may_block) {
  SessionShard& shard = sessions_[ShardOf(session_id)];
  {
    std::lock_guard<std::mutex> l(shard.mu);
    auto it = shard.map.find(session_id);
    if (it != shard.map.end() && now - it->second.fetched_at < options_.session_cache_ttl) {
      const SessionState& s = it->second.state;
      return s.exists && !s.revoked && now < s.expires_at;
    }
  }
  if (!may_block) return std::nullopt;
  auto state = store_->GetSessionState(session_id);
  if (!state.ok()) {
    log::Warn("introspect.session_lookup_failed", {{"error", state.status().ToString()}});
    return false;  // fail closed
  }
  {
    std::lock_guard<std::mutex> l(shard.mu);
    if (shard.map.size() >= options_.max_cached_sessions / kShards + 1) {
      for (auto it = shard.map.begin(); it != shard.map.end();) {
        if (now - it->second.fetched_at >= options_.session_cache_ttl) {
          it = shard.map.erase(it);
        } else {
          ++it;
        }
      }
      if (shard.map.size() >= options_.max_cached_sessions / kShards + 1) shard.map.clear();
    }
    auto& entry = shard.map[session_id];
    // A local ForgetSession() that raced with this lookup wins.
    if (!(entry.state.revoked && entry.state.exists)) entry.state = *state;
    entry.fetched_at = now;
    return entry.state.exists && !entry.state.revoked && now < entry.state.expires_at;
  }
}

void Introspector::ForgetSession(const std::string& session_id) {
  SessionShard& shard = sessions_[ShardOf(session_id)];
  std::lock_guard<std::mutex> l(shard.mu);
  auto& entry = shard.map[session_id];
  entry.state.exists = true;
  entry.state.revoked = true;
  // Keep the entry "fresh" for one TTL from now; afterwards the store (revoked) is asked again.
  entry.fetched_at = clock_->Now();
}

Introspection Introspector::Introspect(const std::string& token) {
  return *Run(token, /*may_block=*/true);
}

std::optional<Introspection> Introspector::TryIntrospect(const std::string& token) {
  return Run(token, /*may_block=*/false);
}

std::optional<Introspection> Introspector::Run(const std::string& token, bool may_block) {
  Introspection inactive;
  if (token.empty() || token.size() > 8192) return inactive;
  absl::Time now = clock_->Now();
  int64_t now_s = absl::ToUnixSeconds(now);
  std::shared_ptr<const KeySet> keys = keys_->Keys();
  if (keys == nullptr) return inactive;

  Introspection claims;
  // Keyed by the token's SHA-256: small entries, and a tampered token never hits.
  const std::string cache_key = crypto::Sha256(token);
  TokenShard& shard = tokens_[ShardOf(cache_key)];
  bool cached = false;
  {
    std::lock_guard<std::mutex> l(shard.mu);
    auto it = shard.map.find(cache_key);
    if (it != shard.map.end()) {
      if (it->second.key_version == keys->version && now_s < it->second.claims.exp) {
        claims = it->second.claims;
        cached = true;
      } else {
        shard.map.erase(it);
      }
    }
  }
  if (!cached) {
    bool unknown_kid = false;
    claims = VerifyToken(*keys, token, &unknown_kid);
    if (!claims.active && unknown_kid) {
      if (!may_block) return std::nullopt;
      if (!keys_->RefreshForUnknownKid(*keys)) return inactive;
      // Another replica may already sign with a key this one has not loaded yet.
      keys = keys_->Keys();
      if (keys == nullptr) return inactive;
      claims = VerifyToken(*keys, token, &unknown_kid);
    }
    if (!claims.active) return inactive;
    if (now_s >= claims.exp) return inactive;
    std::lock_guard<std::mutex> l(shard.mu);
    if (shard.map.size() >= options_.max_cached_tokens / kShards + 1) {
      for (auto it = shard.map.begin(); it != shard.map.end();) {
        if (now_s >= it->second.claims.exp || it->second.key_version != keys->version) {
          it = shard.map.erase(it);
        } else {
          ++it;
        }
      }
      if (shard.map.size() >= options_.max_cached_tokens / kShards + 1) shard.map.clear();
    }
    shard.map[cache_key] = TokenEntry{claims, keys->version};
  }
  std::optional<bool> session_active = SessionActive(claims.session_id, now, may_block);
  if (!session_active.has_value()) return std::nullopt;
  if (!*session_active) return inactive;
  return claims;
}

}  // namespace dvc::auth
