// Revocation checking of a validated certificate path: OCSP (RFC 6960) first, CRL (RFC 5280)
// as the fallback, with a bounded in-memory cache.
//
// For every certificate of the path except the trust anchor (its issuer is the next certificate
// of the chain):
//   1. OCSP, when the certificate has an AIA id-ad-ocsp http:// URL: a request with a random
//      nonce for the SHA-1 CertID (what responders index by; it is an identifier, not a
//      signature). The response must be `successful`, signed either by the issuer itself or by a
//      delegated responder certificate issued by the issuer and carrying EKU OCSPSigning, answer
//      for exactly this CertID, be fresh (thisUpdate ≤ now + skew, nextUpdate ≥ now − skew; a
//      response without nextUpdate must have thisUpdate within `max_age_without_next_update`),
//      and echo our nonce if it carries one. Nonce policy: a different nonce is rejected (replay
//      or mix-up); a response WITHOUT a nonce is accepted, because RFC 5019 responders and
//      pre-produced/CDN responses commonly omit it — freshness is then bounded by the validity
//      checks above. The responder certificate's own revocation is not checked (the id-pkix-
//      ocsp-nocheck convention). `good`/`revoked` establish the status; `unknown` does not.
//   2. Otherwise, or when OCSP did not establish a status: the CRL from the certificate's CRL
//      distribution point (first full-name http:// URI of a distribution point without reasons
//      or cRLIssuer), DER or PEM, signed by the issuer's key, issuer name equal to the issuer's
//      subject, thisUpdate ≤ now + skew and nextUpdate > now (a CRL without nextUpdate must have
//      thisUpdate within `max_age_without_next_update`). Delta CRLs, indirect CRLs and CRLs
//      partitioned by reason are NOT supported: they never establish a status (a base CRL
//      pointing at deltas via freshestCRL is used as a complete CRL; revocations published only
//      in a delta are seen with the next base CRL).
// A certificate is `revoked` when a valid source lists it (any revocation time; sigverify always
// verifies at the present, so there is no back-dating). The leaf MUST be established by one
// source; an intermediate whose certificate names no OCSP/CRL source at all is accepted (state
// kUnknown in its per-certificate entry), but an intermediate that names a source which cannot
// be used is treated like the leaf (subject to the policy).
//
// Outcome of CheckPath:
//   any certificate revoked        → InvalidArgument CERT_REVOKED, field "certificate" (message
//                                    with the revocation date; metadata revoked_at, depth, reason)
//   a required status unknown and  → Unavailable CERT_REVOCATION_UNKNOWN (retryable)
//     policy kFailClosed
//   otherwise OK: RevocationStatus of the leaf (state kGood, or kUnknown under kFailOpen), with
//   the per-certificate entries in `chain`.
// Freshness and cache expiry are judged against the injected clock, because responses are
// fetched now; `at` (the path's verification time — the present in sigverify) does not change
// the outcome.
//
// Cache: OCSP answers per CertID (issuer name/key hash + serial) and parsed CRLs per URL, valid
// until nextUpdate (or `cache_ttl_without_next_update` when absent), never longer than
// `max_cache_lifetime`; LRU-bounded; revoked answers are cached too; failures are not cached.
// Thread-safe. Fetches run outside the lock (concurrent misses may fetch twice).
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/metrics/metrics.h"
#include "services/sigverify/domain/path_validator.h"
#include "services/sigverify/domain/x509_ptr.h"

namespace dvc::sigverify {

enum class RevocationPolicy { kFailClosed, kFailOpen };

struct RevocationStatus {
  enum class State { kGood, kRevoked, kUnknown };
  State state = State::kUnknown;
  std::string source;  // "ocsp" | "crl" | "" (not established) | "anchor" (path is the anchor only)
  // absl::InfinitePast() when not applicable / absent (e.g. no nextUpdate, not revoked).
  absl::Time this_update = absl::InfinitePast();
  absl::Time next_update = absl::InfinitePast();
  absl::Time revoked_at = absl::InfinitePast();
  int reason = -1;  // CRLReason code when revoked and given, else -1
  bool from_cache = false;
  // Only in the value CheckPath returns: one entry per certificate below the anchor, leaf
  // first (entry i describes path.chain[i]); entries have an empty `chain`.
  std::vector<RevocationStatus> chain;
};

class RevocationChecker {
 public:
  virtual ~RevocationChecker() = default;
  // Checks every certificate of `path` except the trust anchor. CERT_REVOKED when any is revoked;
  // CERT_REVOCATION_UNKNOWN (Unavailable) when status cannot be established and policy is
  // fail-closed.
  virtual absl::StatusOr<RevocationStatus> CheckPath(const ValidatedPath& path, absl::Time at,
                                                     RevocationPolicy policy) = 0;
};

// Port: fetches revocation data over the network (adapters/http_revocation_fetcher.h). Any
// error means "source unavailable" to the checker.
class RevocationFetcher {
 public:
  virtual ~RevocationFetcher() = default;
  // POSTs a DER OCSPRequest; returns the DER OCSPResponse body.
  virtual absl::StatusOr<std::string> PostOcsp(const std::string& url,
                                               const std::string& der_request,
                                               absl::Duration timeout) = 0;
  // GETs a CRL (DER or PEM body).
  virtual absl::StatusOr<std::string> GetCrl(const std::string& url, absl::Duration timeout) = 0;
};

struct RevocationConfig {
  absl::Duration ocsp_timeout = absl::Seconds(3);
  absl::Duration crl_timeout = absl::Seconds(3);
  // Tolerated clock difference with responders and CAs (thisUpdate in the future,
  // OCSP nextUpdate just passed).
  absl::Duration clock_skew = absl::Minutes(5);
  // A response or CRL without nextUpdate is only accepted if thisUpdate is this recent.
  absl::Duration max_age_without_next_update = absl::Hours(1);
  // Cache lifetime of an answer without nextUpdate, and the cap for every entry.
  absl::Duration cache_ttl_without_next_update = absl::Hours(1);
  absl::Duration max_cache_lifetime = absl::Hours(24);
  // 0 caches nothing (sigverify --revocation_cache=false): every check fetches again.
  size_t max_ocsp_cache_entries = 10000;
  size_t max_crl_cache_entries = 64;  // CRLs can be large (megabytes)
  bool enable_ocsp = true;
  bool enable_crl = true;
};

class OcspCrlRevocationChecker final : public RevocationChecker {
 public:
  // `fetcher` and `clock` must outlive the checker; `metrics` may be null (else it must outlive
  // the checker too). Exported counters:
  //   sigverify_revocation_cache_total{source="ocsp|crl",result="hit|miss"}
  //   sigverify_revocation_fetch_errors_total{source}      (transport / HTTP failures)
  //   sigverify_revocation_rejected_total{source}          (unusable responses / CRLs)
  //   sigverify_revocation_checks_total{outcome="good|revoked|unknown_fail_open|unknown_fail_closed"}
  OcspCrlRevocationChecker(RevocationFetcher* fetcher, Clock* clock, RevocationConfig config = {},
                           metrics::Registry* metrics = nullptr);
  ~OcspCrlRevocationChecker() override;

  absl::StatusOr<RevocationStatus> CheckPath(const ValidatedPath& path, absl::Time at,
                                             RevocationPolicy policy) override;

  // The same on a bare chain (leaf first, trust anchor last).
  absl::StatusOr<RevocationStatus> CheckChain(const std::vector<X509Ptr>& chain, absl::Time at,
                                              RevocationPolicy policy);

  // Number of cached OCSP answers / CRLs (tests, metrics).
  size_t OcspCacheSize() const;
  size_t CrlCacheSize() const;

 private:
  struct CachedCrl;
  struct Counters;
  template <typename V>
  class Lru;

  // Status of `cert` issued by `issuer`; `has_source` tells whether the certificate names any
  // OCSP/CRL source at all.
  RevocationStatus CheckOne(X509* cert, X509* issuer, int depth, bool* has_source);
  std::optional<RevocationStatus> CheckOcsp(X509* cert, X509* issuer, const std::string& url,
                                            int depth);
  std::optional<RevocationStatus> CheckCrl(X509* cert, X509* issuer, const std::string& url,
                                           int depth);
  std::shared_ptr<const CachedCrl> LoadCrl(X509* issuer, const std::string& url, int depth,
                                           bool* from_cache);
  absl::Time CacheExpiry(absl::Time now, absl::Time next_update) const;
  void Reject(const char* source, const char* cause, int depth);

  RevocationFetcher* fetcher_;
  Clock* clock_;
  RevocationConfig config_;
  std::unique_ptr<Counters> counters_;

  mutable absl::Mutex mu_;
  std::unique_ptr<Lru<RevocationStatus>> ocsp_cache_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Lru<std::shared_ptr<const CachedCrl>>> crl_cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dvc::sigverify
