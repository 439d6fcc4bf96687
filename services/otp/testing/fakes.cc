#include "services/otp/testing/fakes.h"

#include <algorithm>
#include <set>

namespace dvc::otp::testing {

class FakeOtpStore::Tx final : public OtpTx {
 public:
  explicit Tx(FakeOtpStore* s) : s_(s) {}

  absl::StatusOr<std::optional<Challenge>> LockById(const std::string& id) override {
    auto it = s_->challenges.find(id);
    if (it == s_->challenges.end()) return std::optional<Challenge>();
    return std::optional<Challenge>(it->second);
  }
  absl::StatusOr<std::optional<Challenge>> LockByRequestId(const std::string& rid) override {
    for (const auto& [id, c] : s_->challenges) {
      if (c.request_id == rid) return std::optional<Challenge>(c);
    }
    return std::optional<Challenge>();
  }
  absl::StatusOr<bool> InsertIfAbsent(const Challenge& c) override {
    for (const auto& [id, other] : s_->challenges) {
      if (other.request_id == c.request_id) return false;
    }
    if (s_->challenges.count(c.id)) return absl::AlreadyExistsError("duplicate challenge id");
    s_->challenges[c.id] = c;
    return true;
  }
  absl::Status Update(const Challenge& c) override {
    auto it = s_->challenges.find(c.id);
    if (it == s_->challenges.end()) return absl::NotFoundError("no such challenge");
    it->second = c;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<absl::Duration>> TryRecordSend(
      const std::vector<SendLimit>& limits, absl::Time now, const std::string& challenge_id,
      int seq) override {
    std::optional<absl::Duration> wait;
    for (const SendLimit& l : limits) {
      std::vector<absl::Time> in_window;
      for (const Send& s : s_->sends) {
        if (s.key == l.key && s.at > now - l.window) in_window.push_back(s.at);
      }
      if (static_cast<int>(in_window.size()) >= l.limit) {
        std::sort(in_window.begin(), in_window.end());
        absl::Duration w = in_window[in_window.size() - l.limit] + l.window - now;
        if (!wait || w > *wait) wait = w;
      }
    }
    if (wait) return wait;
    for (const SendLimit& l : limits) s_->sends.push_back({l.key, now, challenge_id, seq});
    return std::optional<absl::Duration>();
  }
 private:
  FakeOtpStore* s_;
};

absl::Status FakeOtpStore::InTransaction(Commit commit,
                                         const std::function<absl::Status(OtpTx&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_next.ok()) return fail_next;
  auto saved_challenges = challenges;
  auto saved_sends = sends;
  auto saved_deliveries = deliveries;
  Tx tx(this);
  absl::Status s = fn(tx);
  if (!s.ok()) {
    challenges = std::move(saved_challenges);
    sends = std::move(saved_sends);
    deliveries = std::move(saved_deliveries);
  } else {
    commits.push_back(commit);
  }
  return s;
}

absl::StatusOr<std::optional<Challenge>> FakeOtpStore::RecordDelivery(
    const std::string& challenge_id, int seq, DeliveryOutcome outcome, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_next.ok()) return fail_next;
  auto it = challenges.find(challenge_id);
  if (it == challenges.end()) return std::optional<Challenge>();
  Challenge& c = it->second;
  if (c.seq == seq && c.delivery == Delivery::kPending) {
    c.delivery = outcome == DeliveryOutcome::kSent ? Delivery::kSent : Delivery::kFailed;
    if (outcome == DeliveryOutcome::kSent) ++c.deliveries;
  }
  if (outcome == DeliveryOutcome::kFailed) {
    sends.erase(std::remove_if(sends.begin(), sends.end(),
                               [&](const Send& s) {
                                 return s.challenge_id == challenge_id && s.seq == seq;
                               }),
                sends.end());
  }
  auto logged = std::find_if(deliveries.begin(), deliveries.end(), [&](const DeliveryRecord& d) {
    return d.challenge_id == challenge_id && d.seq == seq;
  });
  if (logged != deliveries.end()) {
    logged->outcome = outcome;
    logged->at = at;
  } else {
    deliveries.push_back({challenge_id, seq, outcome, at});
  }
  return std::optional<Challenge>(c);
}

absl::Status FakeSmsSender::Send(const SmsMessage& m) {
  std::lock_guard<std::mutex> l(mu_);
  ++attempts_;
  if (!fail_.ok()) return fail_;
  sent_.push_back(m);
  return absl::OkStatus();
}

std::string FakeSmsSender::LastCode(const std::string& msisdn) const {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
    if (it->to != msisdn) continue;
    const std::string& t = it->text;
    for (size_t i = 0; i + 6 <= t.size(); ++i) {
      bool six = true;
      for (size_t j = i; j < i + 6; ++j) six = six && t[j] >= '0' && t[j] <= '9';
      bool bounded = (i == 0 || !(t[i - 1] >= '0' && t[i - 1] <= '9')) &&
                     (i + 6 == t.size() || !(t[i + 6] >= '0' && t[i + 6] <= '9'));
      if (six && bounded) return t.substr(i, 6);
    }
    return "";
  }
  return "";
}

std::vector<SmsMessage> FakeSmsSender::Sent() const {
  std::lock_guard<std::mutex> l(mu_);
  return sent_;
}

void FakeSmsSender::SetFailure(absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  fail_ = std::move(s);
}

int FakeSmsSender::attempts() const {
  std::lock_guard<std::mutex> l(mu_);
  return attempts_;
}

}  // namespace dvc::otp::testing
