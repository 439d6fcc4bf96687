// Password hashing with Argon2id (libargon2), stored as a PHC string:
//   $argon2id$v=19$m=19456,t=2,p=1$<salt, base64 no padding>$<hash, base64 no padding>
// Defaults are the OWASP minimum (m = 19 456 KiB, t = 2, p = 1). Verification takes the
// parameters from the stored string, so old hashes keep verifying after the defaults change;
// NeedsRehash() tells the caller to re-hash at the next successful login.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/random.h"

namespace dvc::crypto {

struct Argon2Params {
  uint32_t m_kib = 19456;  // memory cost in KiB
  uint32_t t = 2;          // iterations
  uint32_t p = 1;          // lanes / parallelism
  uint32_t salt_len = 16;  // bytes
  uint32_t hash_len = 32;  // bytes
};

// Hashes `password` with a fresh salt from `random`. InvalidArgument for parameters outside the
// accepted ranges (m 8·p..4 GiB, t 1..64, p 1..64, salt 8..64 bytes, hash 16..64 bytes).
absl::StatusOr<std::string> HashPassword(absl::string_view password, const Argon2Params& params,
                                         Random& random);

// true when `password` matches; false when it does not. InvalidArgument when `phc` is not a
// well-formed argon2id v=19 PHC string with parameters in the accepted ranges. The tag
// comparison is constant-time.
absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view phc);

// True when `phc` was produced with parameters other than `params` (or cannot be parsed).
bool NeedsRehash(absl::string_view phc, const Argon2Params& params);

// Argon2id for a server: at most `concurrency` computations at once (0: one per core), each in
// one of `concurrency` workspaces allocated once for `params`' memory cost (huge pages where the
// kernel offers them) and reused. Without it every request thread gets its own m KiB from
// malloc, so memory grows with the number of request threads (19 MiB each with the OWASP
// parameters) and no workspace is warm in the caches. Running more computations than cores
// only thrashes the caches. A hash whose memory cost exceeds the workspace still verifies, with
// a one-off allocation (counted by heap_fallbacks()). Thread-safe; workspaces are wiped after
// every computation (libargon2 clears its memory before releasing it).
class PasswordHasher {
 public:
  explicit PasswordHasher(const Argon2Params& params, int concurrency = 0);
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // As HashPassword / VerifyPassword above, with this hasher's parameters and workspaces.
  absl::StatusOr<std::string> Hash(absl::string_view password, Random& random);
  absl::StatusOr<bool> Verify(absl::string_view password, absl::string_view phc);
  bool NeedsRehash(absl::string_view phc) const { return crypto::NeedsRehash(phc, params_); }

  const Argon2Params& params() const { return params_; }
  int concurrency() const { return static_cast<int>(workspaces_.size()); }
  // Computations that needed more memory than a workspace holds (stored hashes with a larger m).
  long heap_fallbacks() const;

  struct Workspace {
    uint8_t* memory;
    size_t size;
  };

 private:
  Workspace* Acquire();
  void Release(Workspace* w);

  const Argon2Params params_;
  std::vector<Workspace> workspaces_;
  mutable absl::Mutex mu_;
  std::vector<Workspace*> idle_ ABSL_GUARDED_BY(mu_);
  long heap_fallbacks_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dvc::crypto
