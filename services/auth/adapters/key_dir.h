// Token signing keys from a directory of unencrypted PKCS#8 PEM files, one key per file named
// "<kid>.pem" (in production a Kubernetes Secret volume shared by every replica).
//
// Publish before signing: every file verifies and is published in the JWKS as soon as it is
// loaded, but a key becomes the signer only once it has been visible for `publish_delay`,
// counted from min(the time this process first loaded it, the file's mtime). Of the keys old
// enough, the newest signs; when none is old enough (fresh install) the oldest signs. So while a
// rotation propagates to the replicas at different times, no replica signs with a key the others
// cannot have seen yet. Keys are ordered by that visibility time, then by kid: Secret volumes
// rewrite every file (and its mtime) on each update, so name kids so that they sort
// chronologically (GenerateKeyFile does).
//
// A token with a kid this process does not hold triggers one re-read of the directory
// (RefreshForUnknownKid, at most once per `unknown_kid_reload_interval`) before it is refused.
//
// Rotation: drop a new file in (write it elsewhere, then rename it into the directory); remove an
// old file once the tokens it signed have expired (publish delay + access-token TTL after adding
// its successor).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "services/auth/domain/keys.h"

namespace dvc::auth {

struct KeyDirOptions {
  // How long a key must have been visible before it signs; must exceed how long a rotation
  // takes to reach every replica (Secret volume propagation).
  absl::Duration publish_delay = absl::Minutes(2);
  // Minimum time between two directory re-reads caused by unknown kids (per process).
  absl::Duration unknown_kid_reload_interval = absl::Seconds(5);
  // Create the directory and a first key when there is none (dev/test stacks only: replicas with
  // separate storage would each invent their own key).
  bool autogenerate = false;
};

class KeyDirectory final : public KeySource {
 public:
  // Loads `dir`. Without a *.pem key (or without the directory) this fails with
  // FailedPrecondition unless `options.autogenerate`, in which case the directory is created
  // (mode 0700) and a first key written (mode 0600). Fails when any *.pem file is unreadable or
  // invalid. `clock` and `random` must outlive the KeyDirectory.
  static absl::StatusOr<std::unique_ptr<KeyDirectory>> Open(const std::string& dir,
                                                            const KeyDirOptions& options,
                                                            Clock* clock, crypto::Random* random);

  // The current snapshot; switches the signer when a key's publish delay has passed.
  std::shared_ptr<const KeySet> Keys() override;
  // Re-reads the directory (rate-limited) unless the verification set already changed since
  // `seen`.
  bool RefreshForUnknownKid(const KeySet& seen) override;
  // Re-reads the directory and swaps the snapshot when the set of files changed. On error the
  // previous snapshot stays in use and the error is returned.
  absl::Status Reload();

  // Writes a fresh key as "<dir>/<kid>.pem" atomically (temp file + rename); returns the kid,
  // "k<UTC yyyymmddThhmmss>Z-<6 hex>", which sorts chronologically.
  static absl::StatusOr<std::string> GenerateKeyFile(const std::string& dir, absl::Time now,
                                                     crypto::Random* random);

 private:
  KeyDirectory(std::string dir, const KeyDirOptions& options, Clock* clock)
      : dir_(std::move(dir)), options_(options), clock_(clock) {}

  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  // Picks the signer of `base_` for `now` and sets keys_ and next_promotion_.
  void ChooseSignerLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const KeyDirOptions options_;
  Clock* const clock_;

  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);      // serializes directory reads
  std::string fingerprint_ ABSL_GUARDED_BY(reload_mu_);  // names + mtimes + sizes of the files
  std::map<std::string, absl::Time> first_seen_ ABSL_GUARDED_BY(reload_mu_);  // by kid
  absl::Time next_unknown_kid_reload_ ABSL_GUARDED_BY(reload_mu_) = absl::InfinitePast();

  absl::Mutex mu_;
  std::shared_ptr<const KeySet> base_ ABSL_GUARDED_BY(mu_);     // keys ordered by visible_since_
  std::vector<absl::Time> visible_since_ ABSL_GUARDED_BY(mu_);  // parallel to base_->keys
  std::shared_ptr<const KeySet> keys_ ABSL_GUARDED_BY(mu_);     // base_ with the chosen signer
  absl::Time next_promotion_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace dvc::auth
