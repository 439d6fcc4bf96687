#include "services/auth/domain/keys.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"

namespace dvc::auth {

absl::StatusOr<std::shared_ptr<const KeySet>> MakeKeySet(
    std::vector<std::shared_ptr<const jwt::SigningKey>> keys_oldest_first) {
  static std::atomic<uint64_t> next_version{1};
  if (keys_oldest_first.empty()) return absl::InvalidArgumentError("no signing key");
  auto set = std::make_shared<KeySet>();
  std::vector<const jwt::SigningKey*> raw;
  for (const auto& k : keys_oldest_first) {
    if (k == nullptr) return absl::InvalidArgumentError("null signing key");
    if (absl::Status s = set->verifier.AddKey(*k); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("signing key ", k->kid(), ": ", s.message()));
    }
    raw.push_back(k.get());
  }
  set->keys = std::move(keys_oldest_first);
  set->signer = set->keys.back().get();
  set->jwks_json = jwt::Jwks(raw);
  set->version = next_version.fetch_add(1);
  return std::shared_ptr<const KeySet>(std::move(set));
}

std::shared_ptr<const KeySet> WithSigner(const KeySet& base, size_t signer_index) {
  auto set = std::make_shared<KeySet>(base);
  if (!set->keys.empty()) {
    set->signer = set->keys[std::min(signer_index, set->keys.size() - 1)].get();
  }
  return set;
}

}  // namespace dvc::auth
