// The trust store: the root certificates (trust anchors) signature verification builds
// certificate paths to, plus configured intermediate CA certificates (an untrusted pool that only
// helps chain building). Loaded from PEM files with OpenSSL; a TrustStore is immutable, and
// TrustStoreHolder swaps in a freshly loaded one on reload (SIGHUP or a periodic change check).
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/sigverify/domain/x509_ptr.h"

namespace dvc::sigverify {

// One configured certificate. Self-signed ones are trust anchors; the others are intermediates.
struct TrustAnchor {
  std::string fingerprint_sha256;  // lower-case hex of the DER
  std::string subject;             // RFC 2253, UTF-8 kept as is
  absl::Time not_after;
  std::string der;
  std::string source;              // file it was read from
  bool self_signed = false;        // subject == issuer and the signature verifies with its own key
  X509Ptr x509;
};

// Every certificate in PEM text `pem` (blocks of other types, e.g. keys, and text between
// blocks are skipped). INVALID_ARGUMENT TRUST_STORE_INVALID if a CERTIFICATE block is corrupt.
absl::StatusOr<std::vector<TrustAnchor>> ParsePemCertificates(absl::string_view pem,
                                                              absl::string_view source);

// `spec`: comma-separated files and directories (a directory contributes its regular files,
// non-recursively, in name order; files without certificates contribute nothing). Duplicates
// (same fingerprint) are kept once. Returns roots and intermediates alike, in load order.
// Empty spec → empty result.
// Errors: INVALID_ARGUMENT TRUST_STORE_INVALID (unreadable path, corrupt certificate).
absl::StatusOr<std::vector<TrustAnchor>> LoadTrustStore(absl::string_view spec);

// SHA-256 (hex) over the names and bytes of the files `spec` expands to (same expansion as
// LoadTrustStore). Equal digests ⇒ a reload would load the same certificates.
absl::StatusOr<std::string> TrustStoreSpecDigest(absl::string_view spec);

// Persistence port: records which certificates this instance loaded (for operators and audits).
class TrustAnchorStore {
 public:
  virtual ~TrustAnchorStore() = default;
  virtual absl::Status RecordLoaded(const std::vector<TrustAnchor>& anchors,
                                    absl::Time loaded_at) = 0;
};

struct TrustStoreInfo {
  int anchors = 0;                    // self-signed roots
  std::vector<std::string> subjects;  // of the anchors, in load order
  int intermediates = 0;
  std::vector<std::string> intermediate_subjects;
};

class TrustStore final {
 public:
  // Splits `certificates` into anchors (self-signed) and the intermediate pool, and builds the
  // OpenSSL X509_STORE of the anchors once. `source_digest`: TrustStoreSpecDigest of what the
  // certificates were loaded from ("" when unknown).
  explicit TrustStore(std::vector<TrustAnchor> certificates, std::string source_digest = "");
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // Reads `spec` (see LoadTrustStore) into a new store. Errors: TRUST_STORE_INVALID.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Load(absl::string_view spec);

  TrustStoreInfo Info() const;
  const std::vector<TrustAnchor>& anchors() const { return anchors_; }              // roots
  const std::vector<TrustAnchor>& intermediates() const { return intermediates_; }  // the pool
  // Both, in load order (what TrustAnchorStore::RecordLoaded records).
  const std::vector<TrustAnchor>& all() const { return all_; }

  // The anchors as an OpenSSL store (trusted certificates only; no CRLs, no flags). OpenSSL locks
  // it internally: safe to use from several threads at once. Never modify it.
  X509_STORE* x509_store() const { return store_.get(); }
  // The configured intermediates, to add to the untrusted certificates of a verification.
  const std::vector<X509Ptr>& intermediate_pool() const { return pool_; }
  // Whether `cert` is one of the anchors — by SHA-256 of its DER, never by name.
  bool IsAnchor(const X509* cert) const;
  const std::string& source_digest() const { return source_digest_; }

 private:
  struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  };
  std::vector<TrustAnchor> anchors_;
  std::vector<TrustAnchor> intermediates_;
  std::vector<X509Ptr> pool_;
  std::vector<TrustAnchor> all_;
  std::set<std::string> anchor_fingerprints_;
  std::unique_ptr<X509_STORE, StoreFree> store_;
  std::string source_digest_;
};

// Holds the current TrustStore and replaces it on reload. Thread-safe. Readers take a snapshot
// with Get() and keep using it for the whole verification, so a reload never changes the store
// under a verification in flight.
class TrustStoreHolder final {
 public:
  // Loads `spec` now. Errors: TRUST_STORE_INVALID.
  static absl::StatusOr<std::unique_ptr<TrustStoreHolder>> Create(std::string spec);
  TrustStoreHolder(std::string spec, std::shared_ptr<const TrustStore> initial);

  std::shared_ptr<const TrustStore> Get() const;

  // Re-reads the spec and swaps the new store in only if it loads. On error the old store stays
  // and the error is returned (TRUST_STORE_INVALID), as it is when the new load has no anchor
  // while the current store has some (a half-written directory must not empty the store).
  absl::Status Reload();
  // Reload() only when TrustStoreSpecDigest differs from the current store's digest.
  // Returns whether a new store was swapped in.
  absl::StatusOr<bool> ReloadIfChanged();
  // Whether the files differ from what the current store was loaded from (no swap).
  absl::StatusOr<bool> Changed() const;

  const std::string& spec() const { return spec_; }

 private:
  absl::StatusOr<bool> ReloadLocked(bool only_if_changed);

  const std::string spec_;
  mutable std::mutex mu_;          // guards current_
  std::shared_ptr<const TrustStore> current_;
  std::mutex reload_mu_;           // serialises reloads
};

}  // namespace dvc::sigverify
