#include "services/sigverify/domain/revocation.h"

#include "services/sigverify/domain/x509_util.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

// ---- small OpenSSL RAII helpers ----

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID, OCSP_CERTID_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Deleter<OCSP_REQUEST, OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_free(s); }  // does not free the elements
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), FreeX509Stack>>;

void FreeStringStack(STACK_OF(OPENSSL_STRING) * s) { X509_email_free(s); }
void FreeDistPoints(STACK_OF(DIST_POINT) * s) { sk_DIST_POINT_pop_free(s, DIST_POINT_free); }


std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool IsHttpUrl(absl::string_view url) {
  return url.size() > 7 && absl::StartsWithIgnoreCase(url, "http://");
}

constexpr size_t kMaxUrlsPerSource = 2;  // bounds the latency of one certificate's check

std::vector<std::string> OcspUrls(X509* cert) {
  std::vector<std::string> out;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  if (urls == nullptr) return out;
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls) && out.size() < kMaxUrlsPerSource; ++i) {
    const char* url = sk_OPENSSL_STRING_value(urls, i);
    if (url != nullptr && IsHttpUrl(url)) out.emplace_back(url);
  }
  FreeStringStack(urls);
  return out;
}

// Full-name URIs of distribution points that cover every reason and whose CRL is issued by the
// certificate's issuer (no `reasons`, no `cRLIssuer`).
std::vector<std::string> CrlUrls(X509* cert) {
  std::vector<std::string> out;
  auto* dps = static_cast<STACK_OF(DIST_POINT)*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  if (dps == nullptr) return out;
  for (int i = 0; i < sk_DIST_POINT_num(dps); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0 || dp->reasons != nullptr ||
        dp->CRLissuer != nullptr) {
      continue;
    }
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
      std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
      if (IsHttpUrl(url) && out.size() < kMaxUrlsPerSource) out.push_back(std::move(url));
    }
  }
  FreeDistPoints(dps);
  return out;
}

std::string CertIdKey(OCSP_CERTID* id) {
  unsigned char* buf = nullptr;
  int n = i2d_OCSP_CERTID(id, &buf);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

std::string KeyFingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha256(), md, &len) != 1) return "";
  return std::string(reinterpret_cast<char*>(md), len);
}

int CrlReasonOf(X509_REVOKED* rev) {
  auto* e = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, nullptr, nullptr));
  if (e == nullptr) return -1;
  long v = ASN1_ENUMERATED_get(e);
  ASN1_ENUMERATED_free(e);
  return v < 0 ? -1 : static_cast<int>(v);
}

const char* DepthName(int depth) { return depth == 0 ? "leaf" : "ca"; }

}  // namespace

// ---- cache ----

template <typename V>
class OcspCrlRevocationChecker::Lru {
 public:
  explicit Lru(size_t capacity) : capacity_(capacity) {}

  // The value if present and not expired at `now` (it becomes the most recent); an expired
  // entry is dropped.
  const V* Get(const std::string& key, absl::Time now) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    if (it->second->expires <= now) {
      items_.erase(it->second);
      index_.erase(it);
      return nullptr;
    }
    items_.splice(items_.begin(), items_, it->second);
    return &items_.front().value;
  }

  void Put(const std::string& key, V value, absl::Time expires) {
    if (capacity_ == 0) return;
    auto it = index_.find(key);
    if (it != index_.end()) {
      items_.erase(it->second);
      index_.erase(it);
    }
    items_.push_front(Item{key, std::move(value), expires});
    index_[key] = items_.begin();
    while (items_.size() > capacity_) {
      index_.erase(items_.back().key);
      items_.pop_back();
    }
  }

  size_t size() const { return items_.size(); }

 private:
  struct Item {
    std::string key;
    V value;
    absl::Time expires;
  };
  size_t capacity_;
  std::list<Item> items_;  // most recent first
  absl::flat_hash_map<std::string, typename std::list<Item>::iterator> index_;
};

struct OcspCrlRevocationChecker::CachedCrl {
  std::shared_ptr<X509_CRL> crl;
  std::string issuer_key;  // SHA-256 of the issuer SPKI the signature was verified with
  absl::Time this_update = absl::InfinitePast();
  absl::Time next_update = absl::InfinitePast();
  // issuingDistributionPoint scope.
  bool only_user = false;
  bool only_ca = false;
  bool only_attr = false;
};

struct OcspCrlRevocationChecker::Counters {
  metrics::Family<metrics::CounterCell>* cache = nullptr;
  metrics::Family<metrics::CounterCell>* fetch_errors = nullptr;
  metrics::Family<metrics::CounterCell>* rejected = nullptr;
  metrics::Family<metrics::CounterCell>* checks = nullptr;

  static void Inc(metrics::Family<metrics::CounterCell>* f, std::vector<std::string> labels) {
    if (f != nullptr) f->Labels(labels).Inc();
  }
};

OcspCrlRevocationChecker::OcspCrlRevocationChecker(RevocationFetcher* fetcher, Clock* clock,
                                                   RevocationConfig config,
                                                   metrics::Registry* metrics)
    : fetcher_(fetcher),
      clock_(clock),
      config_(config),
      counters_(std::make_unique<Counters>()),
      ocsp_cache_(std::make_unique<Lru<RevocationStatus>>(config.max_ocsp_cache_entries)),
      crl_cache_(
          std::make_unique<Lru<std::shared_ptr<const CachedCrl>>>(config.max_crl_cache_entries)) {
  if (metrics != nullptr) {
    counters_->cache = &metrics->Counter("sigverify_revocation_cache_total",
                                         "Revocation cache lookups", {"source", "result"});
    counters_->fetch_errors =
        &metrics->Counter("sigverify_revocation_fetch_errors_total",
                          "OCSP/CRL fetches that failed (transport or HTTP status)", {"source"});
    counters_->rejected = &metrics->Counter(
        "sigverify_revocation_rejected_total",
        "OCSP responses / CRLs fetched but unusable (signature, freshness, mismatch, garbage)",
        {"source"});
    counters_->checks = &metrics->Counter("sigverify_revocation_checks_total",
                                          "Certificate path revocation checks", {"outcome"});
  }
}

OcspCrlRevocationChecker::~OcspCrlRevocationChecker() = default;

size_t OcspCrlRevocationChecker::OcspCacheSize() const {
  absl::MutexLock l(&mu_);
  return ocsp_cache_->size();
}

size_t OcspCrlRevocationChecker::CrlCacheSize() const {
  absl::MutexLock l(&mu_);
  return crl_cache_->size();
}

absl::Time OcspCrlRevocationChecker::CacheExpiry(absl::Time now, absl::Time next_update) const {
  absl::Time expiry = next_update != absl::InfinitePast()
                          ? next_update
                          : now + config_.cache_ttl_without_next_update;
  return std::min(expiry, now + config_.max_cache_lifetime);
}

void OcspCrlRevocationChecker::Reject(const char* source, const char* cause, int depth) {
  ERR_clear_error();
  Counters::Inc(counters_->rejected, {source});
  log::Warn("revocation.source_rejected",
            {{"source", source}, {"cause", cause}, {"cert", DepthName(depth)}});
}

// ---- OCSP ----

std::optional<RevocationStatus> OcspCrlRevocationChecker::CheckOcsp(X509* cert, X509* issuer,
                                                                    const std::string& url,
                                                                    int depth) {
  // SHA-1 CertID: an identifier responders index by, not a signature.
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  if (id == nullptr) {
    Reject("ocsp", "cert_id", depth);
    return std::nullopt;
  }
  const std::string key = CertIdKey(id.get());
  const absl::Time now = clock_->Now();
  if (!key.empty()) {
    absl::MutexLock l(&mu_);
    if (const RevocationStatus* hit = ocsp_cache_->Get(key, now)) {
      Counters::Inc(counters_->cache, {"ocsp", "hit"});
      RevocationStatus out = *hit;
      out.from_cache = true;
      return out;
    }
  }
  Counters::Inc(counters_->cache, {"ocsp", "miss"});

  OcspRequestPtr req(OCSP_REQUEST_new());
  if (req == nullptr) return std::nullopt;
  OCSP_CERTID* req_id = OCSP_CERTID_dup(id.get());
  if (req_id == nullptr || OCSP_request_add0_id(req.get(), req_id) == nullptr) {
    OCSP_CERTID_free(req_id);
    Reject("ocsp", "request", depth);
    return std::nullopt;
  }
  if (OCSP_request_add1_nonce(req.get(), nullptr, -1) != 1) {  // 16 random bytes
    Reject("ocsp", "nonce", depth);
    return std::nullopt;
  }
  std::string der_request;
  {
    unsigned char* buf = nullptr;
    int n = i2d_OCSP_REQUEST(req.get(), &buf);
    if (n <= 0) {
      Reject("ocsp", "request", depth);
      return std::nullopt;
    }
    der_request.assign(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    OPENSSL_free(buf);
  }

  absl::StatusOr<std::string> body = fetcher_->PostOcsp(url, der_request, config_.ocsp_timeout);
  if (!body.ok()) {
    Counters::Inc(counters_->fetch_errors, {"ocsp"});
    log::Warn("revocation.fetch_failed",
              {{"source", "ocsp"},
               {"url", url},
               {"cert", DepthName(depth)},
               {"status", std::string(absl::StatusCodeToString(body.status().code()))}});
    return std::nullopt;
  }

  const auto* p = reinterpret_cast<const unsigned char*>(body->data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(body->size())));
  if (resp == nullptr) {
    Reject("ocsp", "malformed_response", depth);
    return std::nullopt;
  }
  if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    Reject("ocsp", "responder_error_status", depth);
    return std::nullopt;
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (basic == nullptr) {
    Reject("ocsp", "malformed_response", depth);
    return std::nullopt;
  }

  // Signature: by the issuer itself (found in `certs`; OCSP_TRUSTOTHER then skips path building
  // and only checks the signature with the issuer's key), or by a delegated responder whose
  // certificate the response carries: that one must chain to the issuer (the only trusted
  // certificate; partial chain) and ocsp_check_issuer requires it to be issued by the CertID's
  // issuer with EKU OCSPSigning. The root of such a chain is never "explicitly trusted" for
  // OCSP signing (no aux trust), so any other signer fails.
  X509StorePtr store(X509_STORE_new());
  X509StackPtr certs(sk_X509_new_null());
  if (store == nullptr || certs == nullptr || X509_STORE_add_cert(store.get(), issuer) != 1 ||
      sk_X509_push(certs.get(), issuer) <= 0) {
    Reject("ocsp", "verify_setup", depth);
    return std::nullopt;
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), OCSP_TRUSTOTHER) <= 0) {
    ERR_clear_error();
    Reject("ocsp", "bad_signature_or_responder", depth);
    return std::nullopt;
  }

  // Nonce: mismatch → reject; absent in the response → accepted (see the header).
  const int nonce = OCSP_check_nonce(req.get(), basic.get());
  if (nonce == 0) {
    Reject("ocsp", "nonce_mismatch", depth);
    return std::nullopt;
  }

  int cert_status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revtime = nullptr;
  ASN1_GENERALIZEDTIME* thisupd = nullptr;
  ASN1_GENERALIZEDTIME* nextupd = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revtime, &thisupd,
                            &nextupd) != 1) {
    Reject("ocsp", "no_answer_for_certificate", depth);
    return std::nullopt;
  }

  // Freshness against the injected clock (OCSP_check_validity would read the system time).
  std::optional<absl::Time> this_update = Asn1TimeToAbsl(thisupd);
  std::optional<absl::Time> next_update =
      nextupd != nullptr ? Asn1TimeToAbsl(nextupd) : std::optional<absl::Time>(absl::InfinitePast());
  if (!this_update.has_value() || !next_update.has_value()) {
    Reject("ocsp", "malformed_time", depth);
    return std::nullopt;
  }
  if (*this_update > now + config_.clock_skew) {
    Reject("ocsp", "not_yet_valid", depth);
    return std::nullopt;
  }
  if (nextupd != nullptr) {
    if (*next_update < *this_update) {
      Reject("ocsp", "malformed_time", depth);
      return std::nullopt;
    }
    if (*next_update < now - config_.clock_skew) {
      Reject("ocsp", "stale", depth);
      return std::nullopt;
    }
  } else if (*this_update < now - config_.max_age_without_next_update) {
    Reject("ocsp", "stale", depth);
    return std::nullopt;
  }

  RevocationStatus out;
  out.source = "ocsp";
  out.this_update = *this_update;
  out.next_update = *next_update;
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      out.state = RevocationStatus::State::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED: {
      std::optional<absl::Time> revoked_at = Asn1TimeToAbsl(revtime);
      if (!revoked_at.has_value()) {
        Reject("ocsp", "malformed_time", depth);
        return std::nullopt;
      }
      out.state = RevocationStatus::State::kRevoked;
      out.revoked_at = *revoked_at;
      out.reason = reason;
      break;
    }
    default:  // unknown: the responder does not know the certificate — not established
      log::Info("revocation.ocsp_unknown", {{"cert", DepthName(depth)}});
      return std::nullopt;
  }

  if (!key.empty()) {
    const absl::Time expiry = CacheExpiry(now, out.next_update);
    if (expiry > now) {
      absl::MutexLock l(&mu_);
      ocsp_cache_->Put(key, out, expiry);
    }
  }
  return out;
}

// ---- CRL ----

std::shared_ptr<const OcspCrlRevocationChecker::CachedCrl> OcspCrlRevocationChecker::LoadCrl(
    X509* issuer, const std::string& url, int depth, bool* from_cache) {
  const absl::Time now = clock_->Now();
  const std::string issuer_key = KeyFingerprint(issuer);
  {
    absl::MutexLock l(&mu_);
    if (const auto* hit = crl_cache_->Get(url, now)) {
      // A CRL is only reused for the issuer key it was verified with.
      if ((*hit)->issuer_key == issuer_key && X509_NAME_cmp(X509_CRL_get_issuer((*hit)->crl.get()),
                                                            X509_get_subject_name(issuer)) == 0) {
        Counters::Inc(counters_->cache, {"crl", "hit"});
        *from_cache = true;
        return *hit;
      }
    }
  }
  Counters::Inc(counters_->cache, {"crl", "miss"});
  *from_cache = false;

  absl::StatusOr<std::string> body = fetcher_->GetCrl(url, config_.crl_timeout);
  if (!body.ok()) {
    Counters::Inc(counters_->fetch_errors, {"crl"});
    log::Warn("revocation.fetch_failed",
              {{"source", "crl"},
               {"url", url},
               {"cert", DepthName(depth)},
               {"status", std::string(absl::StatusCodeToString(body.status().code()))}});
    return nullptr;
  }

  X509_CRL* raw = nullptr;
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(*body), "-----BEGIN")) {
    BioPtr bio(BIO_new_mem_buf(body->data(), static_cast<int>(body->size())));
    if (bio != nullptr) raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(body->data());
    raw = d2i_X509_CRL(nullptr, &p, static_cast<long>(body->size()));
  }
  if (raw == nullptr) {
    ERR_clear_error();
    Reject("crl", "malformed_crl", depth);
    return nullptr;
  }
  auto cached = std::make_shared<CachedCrl>();
  cached->crl = std::shared_ptr<X509_CRL>(raw, X509_CRL_free);
  X509_CRL* crl = raw;

  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    Reject("crl", "issuer_mismatch", depth);
    return nullptr;
  }
  if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
    Reject("crl", "issuer_not_crl_signer", depth);
    return nullptr;
  }
  EVP_PKEY* issuer_pub = X509_get0_pubkey(issuer);
  if (issuer_pub == nullptr || X509_CRL_verify(crl, issuer_pub) != 1) {
    ERR_clear_error();
    Reject("crl", "bad_signature", depth);
    return nullptr;
  }

  // Extensions: delta CRLs, indirect CRLs and reason-partitioned CRLs are not supported; an
  // unknown critical extension makes the CRL unusable (RFC 5280 §5.2).
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_delta_crl) {
      Reject("crl", "delta_crl_unsupported", depth);
      return nullptr;
    }
    if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point &&
        nid != NID_authority_key_identifier && nid != NID_crl_number) {
      Reject("crl", "unknown_critical_extension", depth);
      return nullptr;
    }
  }
  auto* idp = static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, nullptr, nullptr));
  if (idp != nullptr) {
    const bool partitioned = idp->indirectCRL || idp->onlysomereasons != nullptr;
    cached->only_user = idp->onlyuser;
    cached->only_ca = idp->onlyCA;
    cached->only_attr = idp->onlyattr;
    ISSUING_DIST_POINT_free(idp);
    if (partitioned) {
      Reject("crl", "partitioned_crl_unsupported", depth);
      return nullptr;
    }
  }

  std::optional<absl::Time> this_update = Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl));
  if (!this_update.has_value()) {
    Reject("crl", "malformed_time", depth);
    return nullptr;
  }
  if (*this_update > now + config_.clock_skew) {
    Reject("crl", "not_yet_valid", depth);
    return nullptr;
  }
  const ASN1_TIME* nextupd = X509_CRL_get0_nextUpdate(crl);
  absl::Time next_update = absl::InfinitePast();
  if (nextupd != nullptr) {
    std::optional<absl::Time> t = Asn1TimeToAbsl(nextupd);
    if (!t.has_value()) {
      Reject("crl", "malformed_time", depth);
      return nullptr;
    }
    next_update = *t;
    if (next_update <= now) {
      Reject("crl", "stale", depth);
      return nullptr;
    }
  } else if (*this_update < now - config_.max_age_without_next_update) {
    Reject("crl", "stale", depth);
    return nullptr;
  }
  cached->issuer_key = issuer_key;
  cached->this_update = *this_update;
  cached->next_update = next_update;

  const absl::Time expiry = CacheExpiry(now, next_update);
  if (expiry > now) {
    absl::MutexLock l(&mu_);
    crl_cache_->Put(url, cached, expiry);
  }
  return cached;
}

std::optional<RevocationStatus> OcspCrlRevocationChecker::CheckCrl(X509* cert, X509* issuer,
                                                                   const std::string& url,
                                                                   int depth) {
  bool from_cache = false;
  std::shared_ptr<const CachedCrl> crl = LoadCrl(issuer, url, depth, &from_cache);
  if (crl == nullptr) return std::nullopt;

  const bool is_ca = X509_check_ca(cert) > 0;
  if (crl->only_attr || (crl->only_user && is_ca) || (crl->only_ca && !is_ca)) {
    Reject("crl", "crl_scope_excludes_certificate", depth);
    return std::nullopt;
  }

  RevocationStatus out;
  out.source = "crl";
  out.this_update = crl->this_update;
  out.next_update = crl->next_update;
  out.from_cache = from_cache;
  X509_REVOKED* rev = nullptr;
  // 1: listed; 2: listed with reason removeFromCRL (delta semantics: not revoked); 0: absent.
  // The lookup sorts the CRL under its own lock, so a shared cached CRL is safe.
  const int found = X509_CRL_get0_by_serial(crl->crl.get(), &rev, X509_get_serialNumber(cert));
  if (found == 1 && rev != nullptr) {
    std::optional<absl::Time> revoked_at = Asn1TimeToAbsl(X509_REVOKED_get0_revocationDate(rev));
    if (!revoked_at.has_value()) {
      Reject("crl", "malformed_time", depth);
      return std::nullopt;
    }
    out.state = RevocationStatus::State::kRevoked;
    out.revoked_at = *revoked_at;
    out.reason = CrlReasonOf(rev);
  } else {
    out.state = RevocationStatus::State::kGood;
  }
  return out;
}

// ---- path ----

RevocationStatus OcspCrlRevocationChecker::CheckOne(X509* cert, X509* issuer, int depth,
                                                    bool* has_source) {
  const std::vector<std::string> ocsp =
      config_.enable_ocsp ? OcspUrls(cert) : std::vector<std::string>{};
  const std::vector<std::string> crl =
      config_.enable_crl ? CrlUrls(cert) : std::vector<std::string>{};
  *has_source = !ocsp.empty() || !crl.empty();
  for (const std::string& url : ocsp) {
    if (std::optional<RevocationStatus> s = CheckOcsp(cert, issuer, url, depth)) return *s;
  }
  for (const std::string& url : crl) {
    if (std::optional<RevocationStatus> s = CheckCrl(cert, issuer, url, depth)) return *s;
  }
  return RevocationStatus{};  // kUnknown, no source
}

absl::StatusOr<RevocationStatus> OcspCrlRevocationChecker::CheckPath(const ValidatedPath& path,
                                                                     absl::Time at,
                                                                     RevocationPolicy policy) {
  return CheckChain(path.chain, at, policy);
}

absl::StatusOr<RevocationStatus> OcspCrlRevocationChecker::CheckChain(
    const std::vector<X509Ptr>& chain, absl::Time /*at*/, RevocationPolicy policy) {
  if (chain.empty()) {
    return status::InvalidArgument("CERT_CHAIN_INCOMPLETE", "certificate",
                                   "Thiếu chuỗi chứng thư số để kiểm tra thu hồi.",
                                   "No certificate path to check for revocation.");
  }
  for (const X509Ptr& c : chain) {
    if (c == nullptr) {
      log::Error("revocation.null_certificate_in_path");
      return status::Internal();
    }
  }
  if (chain.size() == 1) {  // the leaf is itself a trust anchor: nothing to check
    RevocationStatus out;
    out.state = RevocationStatus::State::kGood;
    out.source = "anchor";
    Counters::Inc(counters_->checks, {"good"});
    return out;
  }

  // From the certificate just below the anchor down to the leaf: a revoked CA makes the rest
  // moot. Keep going after an unknown one: a revoked leaf is the more definite answer.
  std::vector<RevocationStatus> statuses(chain.size() - 1);
  bool missing = false;
  for (int i = static_cast<int>(chain.size()) - 2; i >= 0; --i) {
    bool has_source = false;
    RevocationStatus s = CheckOne(chain[i].get(), chain[i + 1].get(), i, &has_source);
    if (s.state == RevocationStatus::State::kRevoked) {
      Counters::Inc(counters_->checks, {"revoked"});
      log::Info("revocation.revoked",
                {{"source", s.source}, {"cert", DepthName(i)}, {"reason", absl::StrCat(s.reason)}});
      const std::string date =
          s.revoked_at == absl::InfinitePast()
              ? std::string("?")
              : absl::FormatTime("%Y-%m-%d %H:%M UTC", s.revoked_at, absl::UTCTimeZone());
      absl::Status err =
          i == 0 ? status::InvalidArgument(
                       "CERT_REVOKED", "certificate",
                       absl::StrCat("Chứng thư số đã bị thu hồi (ngày thu hồi: ", date, ")."),
                       absl::StrCat("The certificate was revoked on ", date, "."))
                 : status::InvalidArgument(
                       "CERT_REVOKED", "certificate",
                       absl::StrCat("Chứng thư số của tổ chức chứng thực (CA) cấp chứng thư "
                                    "này đã bị thu hồi (ngày thu hồi: ",
                                    date, ")."),
                       absl::StrCat("The certificate of the issuing certification authority "
                                    "was revoked on ",
                                    date, "."));
      if (s.revoked_at != absl::InfinitePast()) {
        err = status::WithMetadata(err, "revoked_at", Rfc3339(s.revoked_at));
      }
      err = status::WithMetadata(err, "depth", absl::StrCat(i));
      if (s.reason >= 0) err = status::WithMetadata(err, "reason", absl::StrCat(s.reason));
      return err;
    }
    if (s.state == RevocationStatus::State::kUnknown && (i == 0 || has_source)) missing = true;
    statuses[i] = std::move(s);
  }

  if (missing && policy == RevocationPolicy::kFailClosed) {
    Counters::Inc(counters_->checks, {"unknown_fail_closed"});
    log::Warn("revocation.unknown", {{"policy", "fail_closed"}});
    return status::MakeError(
        absl::StatusCode::kUnavailable,
        status::ErrorInfo{"CERT_REVOCATION_UNKNOWN",
                          "certificate",
                          "Không kiểm tra được tình trạng thu hồi của chứng thư số (máy chủ "
                          "OCSP/CRL không phản hồi). Vui lòng thử lại sau.",
                          "The revocation status of the certificate could not be checked "
                          "(OCSP/CRL unavailable). Please try again later.",
                          {}});
  }
  if (missing) {
    Counters::Inc(counters_->checks, {"unknown_fail_open"});
    log::Warn("revocation.unknown", {{"policy", "fail_open"}});
  } else {
    Counters::Inc(counters_->checks, {"good"});
  }
  RevocationStatus out = statuses[0];
  out.chain = std::move(statuses);
  return out;
}

}  // namespace dvc::sigverify
