#include "services/auth/domain/throttle.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::auth {
namespace {

int CeilSeconds(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(s, 1 << 30)));
}

absl::Status Throttled(absl::Duration wait) {
  return status::ResourceExhausted(
      "LOGIN_THROTTLED", "Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.",
      "Too many failed sign-in attempts. Please try again later.", CeilSeconds(wait));
}

}  // namespace

absl::Duration DelayAfter(int failures, int free, absl::Duration first, absl::Duration max) {
  if (failures < free) return absl::ZeroDuration();
  int doublings = failures - free;
  absl::Duration d = first;
  for (int i = 0; i < doublings && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::string LoginThrottle::PairKey(const std::string& identifier_index, const std::string& ip) {
  return absl::StrCat("pair:", identifier_index, ":", ip);
}

std::string LoginThrottle::IdentifierKey(const std::string& identifier_index) {
  return absl::StrCat("id:", identifier_index);
}

void LoginThrottle::Forget(ThrottleState& s, absl::Time now) const {
  if (s.last_failure_at.has_value() && now - *s.last_failure_at >= options_.forget_after) {
    s.failures = 0;
    s.blocked_until.reset();
    s.last_failure_at.reset();
  }
}

std::string LoginThrottle::SubscriberTrustKey(const std::string& subscriber_index,
                                              const std::string& ip) {
  return absl::StrCat("subpair:", subscriber_index, ":", ip);
}

void LoginThrottle::WindowAt(absl::Time now, absl::Duration window, absl::Time* start,
                             absl::Time* end) {
  int64_t window_s = std::max<int64_t>(1, absl::ToInt64Seconds(window));
  int64_t start_s = absl::ToUnixSeconds(now) / window_s * window_s;
  *start = absl::FromUnixSeconds(start_s);
  *end = *start + absl::Seconds(window_s);
}

absl::StatusOr<int> LoginThrottle::CountInWindow(const std::string& key, absl::Duration window,
                                                 absl::Time* window_end) {
  absl::Time start;
  WindowAt(clock_->Now(), window, &start, window_end);
  return store_->IncrementWindow(key, start);
}

absl::Status LoginThrottle::IpVerdict(int count, absl::Time end, absl::Time now) const {
  if (count > options_.ip_limit) {
    return status::ResourceExhausted(
        "LOGIN_IP_LIMITED", "Có quá nhiều yêu cầu đăng nhập từ mạng của bạn. Vui lòng thử lại sau.",
        "Too many sign-in requests from your network. Please try again later.",
        CeilSeconds(end - now));
  }
  return absl::OkStatus();
}

absl::Status LoginThrottle::CheckIp(const std::string& ip) {
  absl::Time end;
  auto count = CountInWindow(absl::StrCat("ip:", ip), options_.ip_window, &end);
  if (!count.ok()) return count.status();
  return IpVerdict(*count, end, clock_->Now());
}

PasswordAdmission LoginThrottle::PasswordAdmissionFor(const std::string& identifier_index,
                                                      const std::string& ip) {
  PasswordAdmission a;
  a.now = clock_->Now();
  absl::Time end;
  WindowAt(a.now, options_.ip_window, &a.ip_window_start, &end);
  a.ip_window_key = absl::StrCat("ip:", ip);
  a.check_ip = [this, end, now = a.now](int count) { return IpVerdict(count, end, now); };
  a.throttle = AdmitUpdate(identifier_index, ip);
  return a;
}

absl::Status LoginThrottle::RecordIpFailure(const std::string& ip) {
  absl::Time end;
  return CountInWindow(absl::StrCat("ip:", ip), options_.ip_window, &end).status();
}

absl::Status LoginThrottle::CheckSubscriber(const std::string& subscriber_index,
                                            const std::string& ip) {
  absl::Time now = clock_->Now();
  bool trusted = false;
  absl::Status read = store_->UpdateThrottles(
      {SubscriberTrustKey(subscriber_index, ip)},
      [&](std::vector<ThrottleState>& states) -> absl::Status {
        trusted = states[0].last_success_at.has_value() &&
                  now - *states[0].last_success_at < options_.trusted_ip_ttl;
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  // A trusted address counts in its own window; everyone else shares the subscriber's.
  std::string key = trusted ? absl::StrCat("sub:", subscriber_index, ":", ip)
                            : absl::StrCat("sub:", subscriber_index);
  absl::Time end;
  auto count = CountInWindow(key, options_.subscriber_window, &end);
  if (!count.ok()) return count.status();
  if (*count > options_.subscriber_limit) {
    return status::ResourceExhausted(
        "LOGIN_SUBSCRIBER_LIMITED",
        "Đã gửi quá nhiều yêu cầu ký số đến thuê bao này. Vui lòng thử lại sau ít phút.",
        "Too many signing requests were sent to this subscriber. Please try again in a few "
        "minutes.",
        CeilSeconds(end - now));
  }
  return absl::OkStatus();
}

absl::Status LoginThrottle::RecordSubscriberSuccess(const std::string& subscriber_index,
                                                    const std::string& ip) {
  absl::Time now = clock_->Now();
  return store_->UpdateThrottles({SubscriberTrustKey(subscriber_index, ip)},
                                 [&](std::vector<ThrottleState>& states) -> absl::Status {
                                   states[0].last_success_at = now;
                                   return absl::OkStatus();
                                 });
}

ThrottleUpdate LoginThrottle::AdmitUpdate(const std::string& identifier_index,
                                          const std::string& ip) {
  absl::Time now = clock_->Now();
  return ThrottleUpdate{
      {PairKey(identifier_index, ip), IdentifierKey(identifier_index)},
      [this, now](std::vector<ThrottleState>& states) -> absl::Status {
        ThrottleState& pair = states[0];
        ThrottleState& id = states[1];
        Forget(pair, now);
        Forget(id, now);
        absl::Duration wait = absl::ZeroDuration();
        if (pair.blocked_until.has_value() && *pair.blocked_until > now) {
          wait = *pair.blocked_until - now;
        }
        bool trusted = pair.last_success_at.has_value() &&
                       now - *pair.last_success_at < options_.trusted_ip_ttl;
        if (!trusted && id.blocked_until.has_value() && *id.blocked_until > now) {
          wait = std::max(wait, *id.blocked_until - now);
        }
        if (wait > absl::ZeroDuration()) return Throttled(wait);
        const int free[2] = {options_.free_failures, options_.identifier_free_failures};
        for (int i = 0; i < 2; ++i) {
          ThrottleState& s = states[i];
          s.failures += 1;
          s.last_failure_at = now;
          absl::Duration d =
              DelayAfter(s.failures, free[i], options_.first_delay, options_.max_delay);
          if (d > absl::ZeroDuration()) {
            s.blocked_until = now + d;
          } else {
            s.blocked_until.reset();
          }
        }
        return absl::OkStatus();
      }};
}

absl::Status LoginThrottle::Admit(const std::string& identifier_index, const std::string& ip) {
  ThrottleUpdate u = AdmitUpdate(identifier_index, ip);
  return store_->UpdateThrottles(u.keys, u.fn);
}

ThrottleUpdate LoginThrottle::SuccessUpdate(const std::string& identifier_index,
                                            const std::string& ip) {
  absl::Time now = clock_->Now();
  return ThrottleUpdate{{PairKey(identifier_index, ip), IdentifierKey(identifier_index)},
                        [now](std::vector<ThrottleState>& states) -> absl::Status {
                          ThrottleState& pair = states[0];
                          pair.failures = 0;
                          pair.blocked_until.reset();
                          pair.last_failure_at.reset();
                          pair.last_success_at = now;
                          // The identifier-wide delay stays: other addresses may still be
                          // guessing.
                          states[1].failures = std::max(0, states[1].failures - 1);
                          return absl::OkStatus();
                        }};
}

absl::Status LoginThrottle::RecordSuccess(const std::string& identifier_index,
                                          const std::string& ip) {
  ThrottleUpdate u = SuccessUpdate(identifier_index, ip);
  return store_->UpdateThrottles(u.keys, u.fn);
}

absl::Status LoginThrottle::Refund(const std::string& identifier_index, const std::string& ip) {
  return store_->UpdateThrottles({PairKey(identifier_index, ip), IdentifierKey(identifier_index)},
                                 [&](std::vector<ThrottleState>& states) -> absl::Status {
                                   for (ThrottleState& s : states)
                                     s.failures = std::max(0, s.failures - 1);
                                   return absl::OkStatus();
                                 });
}

}  // namespace dvc::auth
