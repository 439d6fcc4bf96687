#include "libs/crypto/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"

namespace dvc::crypto {
namespace {

constexpr uint32_t kMaxMemoryKib = 4u * 1024 * 1024;  // 4 GiB

absl::Status CheckParams(const Argon2Params& p) {
  if (p.p < 1 || p.p > 64) return absl::InvalidArgumentError("argon2: p out of range 1..64");
  if (p.t < 1 || p.t > 64) return absl::InvalidArgumentError("argon2: t out of range 1..64");
  if (p.m_kib < 8 * p.p || p.m_kib > kMaxMemoryKib) {
    return absl::InvalidArgumentError("argon2: m out of range 8*p..4GiB");
  }
  if (p.salt_len < 8 || p.salt_len > 64) {
    return absl::InvalidArgumentError("argon2: salt length out of range 8..64");
  }
  if (p.hash_len < 16 || p.hash_len > 64) {
    return absl::InvalidArgumentError("argon2: hash length out of range 16..64");
  }
  return absl::OkStatus();
}

struct Parsed {
  Argon2Params params;
  std::string salt;
  std::string hash;
};

// Parses a decimal uint32 without sign, leading zeros or overflow.
std::optional<uint32_t> ParseU32(absl::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

absl::StatusOr<Parsed> Parse(absl::string_view phc) {
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("malformed PHC string: ", why));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(phc, '$');
  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  if (parts.size() != 6 || !parts[0].empty()) return bad("expected 5 '$'-separated fields");
  if (parts[1] != "argon2id") return bad("algorithm is not argon2id");
  if (parts[2] != "v=19") return bad("version is not 19");
  Parsed out;
  std::vector<absl::string_view> kv = absl::StrSplit(parts[3], ',');
  if (kv.size() != 3) return bad("expected m, t and p parameters");
  const char* names[] = {"m=", "t=", "p="};
  uint32_t* slots[] = {&out.params.m_kib, &out.params.t, &out.params.p};
  for (int i = 0; i < 3; ++i) {
    if (kv[i].substr(0, 2) != names[i]) return bad("parameters must be m, t, p in order");
    std::optional<uint32_t> v = ParseU32(kv[i].substr(2));
    if (!v) return bad("parameter is not a number");
    *slots[i] = *v;
  }
  std::optional<std::string> salt = Base64Decode(parts[4]);
  std::optional<std::string> hash = Base64Decode(parts[5]);
  // PHC strings never carry padding.
  if (!salt || !hash || parts[4].find('=') != absl::string_view::npos ||
      parts[5].find('=') != absl::string_view::npos) {
    return bad("salt or hash is not unpadded base64");
  }
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  out.params.salt_len = static_cast<uint32_t>(out.salt.size());
  out.params.hash_len = static_cast<uint32_t>(out.hash.size());
  if (absl::Status s = CheckParams(out.params); !s.ok()) return bad(s.message());
  return out;
}

// libargon2's allocation callbacks take no user pointer: the workspace of the computation
// running on this thread is passed through these.
thread_local PasswordHasher::Workspace* tl_workspace = nullptr;
thread_local bool tl_fell_back = false;

int AllocateArgon2Memory(uint8_t** memory, size_t bytes) {
  if (tl_workspace != nullptr && bytes <= tl_workspace->size) {
    *memory = tl_workspace->memory;
  } else {
    tl_fell_back = tl_workspace != nullptr;
    *memory = static_cast<uint8_t*>(std::malloc(bytes));
  }
  return *memory != nullptr ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

// Called after libargon2 has wiped the memory.
void FreeArgon2Memory(uint8_t* memory, size_t /*bytes*/) {
  if (tl_workspace == nullptr || memory != tl_workspace->memory) std::free(memory);
}

// Argon2id of `password` with `salt`; in `ws` when given and allocated (else malloc'd memory).
// `*fell_back` (optional) tells whether `ws` was too small.
absl::StatusOr<std::string> RawHash(absl::string_view password, absl::string_view salt,
                                    const Argon2Params& p,
                                    PasswordHasher::Workspace* ws = nullptr,
                                    bool* fell_back = nullptr) {
  std::string out(p.hash_len, '\0');
  argon2_context ctx{};
  ctx.out = reinterpret_cast<uint8_t*>(out.data());
  ctx.outlen = static_cast<uint32_t>(out.size());
  // libargon2 only writes to the password with ARGON2_FLAG_CLEAR_PASSWORD, which is not set.
  ctx.pwd = reinterpret_cast<uint8_t*>(const_cast<char*>(password.data()));
  ctx.pwdlen = static_cast<uint32_t>(password.size());
  ctx.salt = reinterpret_cast<uint8_t*>(const_cast<char*>(salt.data()));
  ctx.saltlen = static_cast<uint32_t>(salt.size());
  ctx.t_cost = p.t;
  ctx.m_cost = p.m_kib;
  ctx.lanes = p.p;
  ctx.threads = p.p;
  ctx.version = ARGON2_VERSION_13;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  if (ws != nullptr && ws->memory == nullptr) ws = nullptr;  // its mmap failed
  if (ws != nullptr) {
    ctx.allocate_cbk = AllocateArgon2Memory;
    ctx.free_cbk = FreeArgon2Memory;
  }
  tl_workspace = ws;
  tl_fell_back = false;
  int rc = argon2_ctx(&ctx, Argon2_id);
  tl_workspace = nullptr;
  if (fell_back != nullptr) *fell_back = tl_fell_back;
  if (rc != ARGON2_OK) {
    return absl::InternalError(absl::StrCat("argon2id failed: ", argon2_error_message(rc)));
  }
  return out;
}

// HashPassword, computed in `ws` (see RawHash).
absl::StatusOr<std::string> NewPhc(absl::string_view password, const Argon2Params& params,
                                   Random& random, PasswordHasher::Workspace* ws) {
  if (absl::Status s = CheckParams(params); !s.ok()) return s;
  std::string salt = random.Bytes(params.salt_len);
  absl::StatusOr<std::string> hash = RawHash(password, salt, params, ws);
  if (!hash.ok()) return hash.status();
  std::string phc = absl::StrCat("$argon2id$v=19$m=", params.m_kib, ",t=", params.t,
                                 ",p=", params.p, "$", Base64Encode(salt, /*pad=*/false), "$",
                                 Base64Encode(*hash, /*pad=*/false));
  OPENSSL_cleanse(hash->data(), hash->size());
  return phc;
}

// Whether `password` hashes to `parsed`'s tag, compared in constant time.
absl::StatusOr<bool> Matches(absl::string_view password, const Parsed& parsed,
                             PasswordHasher::Workspace* ws, bool* fell_back) {
  absl::StatusOr<std::string> hash = RawHash(password, parsed.salt, parsed.params, ws, fell_back);
  if (!hash.ok()) return hash.status();
  bool ok = ConstantTimeEquals(*hash, parsed.hash);
  OPENSSL_cleanse(hash->data(), hash->size());
  return ok;
}

// Bytes libargon2 allocates for `p`: m KiB rounded down to a multiple of 4·p blocks of 1 KiB,
// and at least 8·p blocks.
size_t MemoryBytes(const Argon2Params& p) {
  size_t blocks = std::max<size_t>(p.m_kib, 8u * p.p);
  blocks = blocks / (4u * p.p) * (4u * p.p);
  return blocks * 1024;
}

constexpr size_t kHugePage = 2u << 20;

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password, const Argon2Params& params,
                                         Random& random) {
  return NewPhc(password, params, random, nullptr);
}

absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view phc) {
  absl::StatusOr<Parsed> parsed = Parse(phc);
  if (!parsed.ok()) return parsed.status();
  return Matches(password, *parsed, nullptr, nullptr);
}

PasswordHasher::PasswordHasher(const Argon2Params& params, int concurrency) : params_(params) {
  int n = concurrency > 0 ? concurrency
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Invalid parameters get no workspace: Hash reports them, and Verify takes its parameters
  // from the stored hash (one-off allocations).
  size_t bytes = CheckParams(params).ok() ? MemoryBytes(params) : 0;
  size_t mapped = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  workspaces_.reserve(n);
  for (int i = 0; i < n; ++i) {
    void* m = mapped == 0 ? MAP_FAILED
                          : mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      workspaces_.push_back({nullptr, 0});
    } else {
      madvise(m, mapped, MADV_HUGEPAGE);  // a hint: fewer TLB misses on a random-access 19 MiB
      workspaces_.push_back({static_cast<uint8_t*>(m), mapped});
    }
  }
  absl::MutexLock l(&mu_);
  for (Workspace& w : workspaces_) idle_.push_back(&w);
}

PasswordHasher::~PasswordHasher() {
  for (Workspace& w : workspaces_) {
    if (w.memory != nullptr) munmap(w.memory, w.size);
  }
}

PasswordHasher::Workspace* PasswordHasher::Acquire() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(+[](std::vector<Workspace*>* v) { return !v->empty(); }, &idle_));
  Workspace* w = idle_.back();
  idle_.pop_back();
  return w;
}

void PasswordHasher::Release(Workspace* w) {
  absl::MutexLock l(&mu_);
  idle_.push_back(w);  // last in, first out: the next computation gets the warmest workspace
}

long PasswordHasher::heap_fallbacks() const {
  absl::MutexLock l(&mu_);
  return heap_fallbacks_;
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password, Random& random) {
  Workspace* w = Acquire();  // sized for params_: no fallback possible
  absl::StatusOr<std::string> phc = NewPhc(password, params_, random, w);
  Release(w);
  return phc;
}

absl::StatusOr<bool> PasswordHasher::Verify(absl::string_view password, absl::string_view phc) {
  absl::StatusOr<Parsed> parsed = Parse(phc);
  if (!parsed.ok()) return parsed.status();
  Workspace* w = Acquire();
  bool fell_back = false;
  absl::StatusOr<bool> ok = Matches(password, *parsed, w, &fell_back);
  Release(w);
  if (fell_back) {
    absl::MutexLock l(&mu_);
    ++heap_fallbacks_;
  }
  return ok;
}

bool NeedsRehash(absl::string_view phc, const Argon2Params& params) {
  absl::StatusOr<Parsed> parsed = Parse(phc);
  if (!parsed.ok()) return true;
  const Argon2Params& p = parsed->params;
  return p.m_kib != params.m_kib || p.t != params.t || p.p != params.p ||
         p.salt_len != params.salt_len || p.hash_len != params.hash_len;
}

}  // namespace dvc::crypto
